using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>report.md and the report.html Markdig renders from it, for a comparison of synthetic runs.</summary>
public class ReportTests
{
    [Fact]
    public void Should_render_the_html_from_the_markdown_with_tables_embedded_charts_and_every_section()
    {
        var config = new TrainingConfig();
        FrameworkSetting[] keras = [new("conv2d", "kernel initialisation", "GlorotUniform"), new("(model)", "threads", "2")];
        FrameworkSetting[] torch = [new("conv2d", "kernel initialisation", "kaiming_uniform_(a=√5)"), new("(model)", "threads", "2")];
        var runs = new List<ComparedRun>();
        for (int seed = 0; seed < 3; seed++)
        {
            runs.Add(Compared(ConclusionTests.Run("keras", seed, config, 0.9, 0.5, 0.6 + seed * 0.01) with { Settings = keras }));
            var busy = ConclusionTests.Run("torch", seed, config, 0.9, 0.5, 0.61 + seed * 0.005) with { Settings = torch };
            if (seed == 1) busy = busy with { Load = new MachineLoad(10, 20, 9, 0, 4, 2) };
            runs.Add(Compared(busy));
        }
        var result = ComparisonResult.Of(new CompareConfig(config, [0, 1, 2], ["keras", "torch"]), MachineInfo.Current,
            new DataSummary("test", "test", false, 0, 1000, 100), new Dictionary<string, double>(), runs, false, null, null);
        using var folder = new TempFolder();
        var charts = Charts.Write(result, Path.Combine(folder.Path, "charts"));
        Report.Write(result, folder.Path, charts, Listings.Load());

        string md = File.ReadAllText(Path.Combine(folder.Path, Report.Markdown));
        foreach (string section in new[] { "## What can be concluded", "## Defaults that differ", "## Timings a reader can trust", "## Do the engines compute the same thing?", "## The code, side by side" })
            Assert.Contains(section, md);
        Assert.Contains("| conv2d | kernel initialisation | GlorotUniform | kaiming_uniform_(a=√5) | **differs** |", md);
        Assert.Contains("| (model) | threads | 2 | 2 | same |", md);
        Assert.Contains("torch-seed1 | 0.90 | 0.00 | 4.00 | 2 | **disturbed** |", md);
        Assert.Contains("Warning: the machine was busy during 1 of 6 runs", md);

        string html = File.ReadAllText(Path.Combine(folder.Path, Report.Html));
        Assert.Contains("<h2>What can be concluded</h2>", html);
        Assert.Contains("<table>", html);
        Assert.Contains("<td><strong>differs</strong></td>", html);
        Assert.Contains("src=\"data:image/png;base64,", html);
        Assert.DoesNotContain("src=\"charts/", html);
        Assert.Contains("<pre><code class=\"language-csharp\">", html);
        Assert.Equal(charts.Count(c => c != Charts.SameMathsChart), html.Split("data:image/png;base64,").Length - 1);
    }

    static ComparedRun Compared(RunSummary run) => new(run.Framework, run.Config.Seed, $"runs/{run.Framework}-seed{run.Config.Seed}", run, null, false);
}
