namespace TwinTrain.Data.Sources;

/// <summary>One file of a dataset source: its path relative to the source root ('/'-separated) and its bytes.</summary>
public readonly record struct SourceEntry(string RelativePath, string Location, Func<byte[]> ReadAll);
