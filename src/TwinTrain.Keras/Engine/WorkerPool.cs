namespace TwinTrain.Keras.Engine;

/// <summary>
/// A fixed set of threads for fork-join parallelism: <see cref="Run"/> calls the work once per worker index
/// (worker 0 on the calling thread) and returns when all have finished. Workers wait spinning briefly, then block,
/// which costs far less per fork-join than Parallel.For.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    readonly Thread[] _threads;
    readonly ManualResetEventSlim[] _start;
    readonly CountdownEvent _done;
    Action<int>? _work;
    Exception? _failure;
    volatile bool _disposed;

    public WorkerPool(int workers)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), "At least one worker is needed.");
        Workers = workers;
        _start = Enumerable.Range(0, workers).Select(_ => new ManualResetEventSlim(false, spinCount: 2000)).ToArray();
        _done = new CountdownEvent(1);
        _threads = new Thread[workers - 1];
        for (int w = 1; w < workers; w++)
        {
            int index = w;
            _threads[w - 1] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"twintrain-worker-{w}" };
            _threads[w - 1].Start();
        }
    }

    public int Workers { get; }

    public void Run(Action<int> work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Workers == 1)
        {
            work(0);
            return;
        }
        _work = work;
        _failure = null;
        _done.Reset(Workers - 1);
        for (int w = 1; w < Workers; w++) _start[w].Set();
        try
        {
            work(0);
        }
        finally
        {
            _done.Wait();
        }
        if (_failure is not null) throw new AggregateException("A worker thread failed.", _failure);
    }

    void Loop(int index)
    {
        while (true)
        {
            _start[index].Wait();
            _start[index].Reset();
            if (_disposed) return;
            try
            {
                _work!(index);
            }
            catch (Exception e)
            {
                _failure = e;
            }
            finally
            {
                _done.Signal();
            }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int w = 1; w < Workers; w++) _start[w].Set();
        foreach (var thread in _threads) thread.Join();
        foreach (var e in _start) e.Dispose();
        _done.Dispose();
    }
}
