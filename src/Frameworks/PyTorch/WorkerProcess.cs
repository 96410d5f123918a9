using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Frameworks.PyTorch;

/// <summary>A worker that failed: it could not start, died, hung, or broke the protocol. One line, naming the framework.</summary>
public sealed class WorkerException(string message) : IOException(message);

/// <summary>
/// A framework's worker process and TwinTrain's side of docs/worker-protocol.md: one request at a time, progress
/// messages passed on, a time-out counted from the last message, and every way a worker can fail turned into one
/// <see cref="WorkerException"/> line. The process never outlives this object (nor TwinTrain: the worker watches
/// its parent).
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    public const int Protocol = 1;

    readonly string _framework;
    readonly Process _process;
    readonly BlockingCollection<string?> _lines = new();
    readonly ConcurrentQueue<string> _stderr = new();
    readonly TimeSpan _timeout;
    int _nextId;
    bool _broken;

    WorkerProcess(string framework, Process process, TimeSpan timeout)
    {
        _framework = framework;
        _process = process;
        _timeout = timeout;
    }

    public int ProcessId => _process.Id;

    /// <summary>The time-out without any message: TWINTRAIN_WORKER_TIMEOUT seconds, default 600.</summary>
    public static TimeSpan DefaultTimeout =>
        double.TryParse(Environment.GetEnvironmentVariable("TWINTRAIN_WORKER_TIMEOUT"), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(600);

    /// <summary>Starts the worker and checks that it speaks this protocol (hello); returns its hello result.</summary>
    public static (WorkerProcess Worker, JsonObject Hello) Start(string framework, string program, IEnumerable<string> arguments, string workingFolder, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingFolder,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["TWINTRAIN_WORKER_PROTOCOL"] = Protocol.ToString(CultureInfo.InvariantCulture);
        start.Environment["PYTHONUNBUFFERED"] = "1";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new WorkerException($"{framework}: the worker {program} could not be started.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new WorkerException($"{framework}: the worker {program} could not be started ({e.Message}).");
        }
        var worker = new WorkerProcess(framework, process, timeout ?? DefaultTimeout);
        FrameworkProcesses.Started(process.Id);
        worker.Listen();
        try
        {
            var hello = worker.Request("hello", new JsonObject { ["protocol"] = Protocol });
            int spoken = hello["protocol"]?.GetValue<int>() ?? -1;
            if (spoken != Protocol)
                throw worker.Fail($"the worker speaks protocol version {spoken}, TwinTrain speaks {Protocol} (docs/worker-protocol.md)");
            return (worker, hello);
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    void Listen()
    {
        var reader = new Thread(() =>
        {
            try
            {
                while (_process.StandardOutput.ReadLine() is { } line) _lines.Add(line);
            }
            catch (IOException) { }
            _lines.Add(null); // the end of the worker's output
        }) { IsBackground = true, Name = $"{_framework} worker stdout" };
        reader.Start();
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            _stderr.Enqueue(e.Data);
            while (_stderr.Count > 20) _stderr.TryDequeue(out string? _);
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Sends one request and waits for its final message, passing progress messages to <paramref name="progress"/>;
    /// <paramref name="stop"/> sends the protocol's stop while it waits. Throws <see cref="WorkerException"/> when
    /// the worker fails, and <see cref="InvalidDataException"/> for an error the worker answered (a bad file, ...).
    /// </summary>
    public JsonObject Request(string op, JsonObject? fields = null, Action<JsonObject>? progress = null, CancellationToken stop = default)
    {
        if (_broken) throw new WorkerException($"{_framework}: the worker failed earlier and was stopped.");
        int id = _nextId++;
        var request = new JsonObject { ["id"] = id, ["op"] = op };
        foreach (var (key, value) in fields ?? []) request[key] = value?.DeepClone();
        Write(request.ToJsonString());
        bool stopSent = false;
        using var registration = stop.Register(() =>
        {
            if (stopSent) return;
            stopSent = true;
            try { Write("{\"op\":\"stop\"}"); } catch (WorkerException) { }
        });
        while (true)
        {
            if (!_lines.TryTake(out string? line, _timeout))
                throw Fail(string.Create(CultureInfo.InvariantCulture, $"no message for {_timeout.TotalSeconds:0} s during '{op}' (TWINTRAIN_WORKER_TIMEOUT); the worker hangs"));
            if (line is null)
            {
                _process.WaitForExit(5000);
                string how = !_process.HasExited ? "closed its output" : _process.ExitCode > 128 || _process.ExitCode < 0
                    ? $"was killed (exit code {_process.ExitCode})" : $"exited with code {_process.ExitCode}";
                throw Fail($"the worker {how} during '{op}'");
            }
            JsonObject message;
            try
            {
                message = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                throw Fail($"the worker sent a line that is not a protocol message during '{op}': '{Shorten(line)}'");
            }
            if (message["id"] is not JsonValue idValue || !idValue.TryGetValue(out int answered) || answered != id)
                throw Fail($"the worker answered '{op}' (request {id}) with a message for request {message["id"]?.ToJsonString() ?? "none"}: '{Shorten(line)}'");
            if (message["progress"] is JsonObject step)
            {
                progress?.Invoke(step);
                continue;
            }
            if (message["ok"]?.GetValue<bool>() == true && message["result"] is JsonObject result) return result;
            if (message["ok"]?.GetValue<bool>() == false)
                throw new InvalidDataException($"{_framework}: {message["error"]?.GetValue<string>() ?? "an error without a message"}");
            throw Fail($"the worker's answer to '{op}' has neither a result nor an error: '{Shorten(line)}'");
        }
    }

    void Write(string line)
    {
        try
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (IOException)
        {
            throw Fail("the worker is gone (its input is closed)");
        }
    }

    /// <summary>Marks the worker broken, kills it, and gives the one-line error, with its last words on stderr.</summary>
    WorkerException Fail(string what)
    {
        Retire();
        _broken = true;
        Kill();
        Thread.Sleep(50); // let the last stderr lines arrive
        string? last = _stderr.LastOrDefault(l => !string.IsNullOrWhiteSpace(l));
        return new WorkerException($"{_framework}: {what}{(last is null ? "" : $" (its last message on stderr: {Shorten(last.Trim())})")}.");
    }

    static string Shorten(string text) => text.Length <= 160 ? text : text[..157] + "...";

    /// <summary>The worker's peak resident memory (VmHWM on Linux, as .NET reads it), or null once it has ended.</summary>
    public long? PeakMemoryBytes()
    {
        try
        {
            _process.Refresh();
            return _process.HasExited ? null : _process.PeakWorkingSet64;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
    }

    /// <summary>Asks the worker to quit, and kills it if it does not within a few seconds.</summary>
    public void Dispose()
    {
        Retire();
        if (!_broken && !_process.HasExited)
        {
            try
            {
                Write(new JsonObject { ["id"] = _nextId++, ["op"] = "quit" }.ToJsonString());
                _process.StandardInput.Close();
                _process.WaitForExit(5000);
            }
            catch (Exception e) when (e is WorkerException or IOException or InvalidOperationException) { }
        }
        Kill();
        _process.Dispose();
    }

    /// <summary>The worker's CPU time stops counting as live (what it spends quitting is not the run's).</summary>
    void Retire() => FrameworkProcesses.Ending(_process.Id);
}
