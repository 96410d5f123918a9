using TwinTrain.Cli;

return await CommandRunner.RunAsync(CliApp.CreateRoot(), args);
