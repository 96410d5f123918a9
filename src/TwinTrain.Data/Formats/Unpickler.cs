using System.Buffers.Binary;
using System.Text;

namespace TwinTrain.Data.Formats;

/// <summary>A reference to a Python global (module.name), as pickles name classes and functions.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A persistent reference (BINPERSID), as torch.save writes for each tensor's storage.</summary>
internal sealed record PicklePersistent(object? Id);

/// <summary>The result of calling a global with arguments (REDUCE / NEWOBJ), plus any state set by BUILD.</summary>
internal sealed class PickleCall(PickleGlobal callable, object?[] args)
{
    public PickleGlobal Callable { get; } = callable;
    public object?[] Args { get; } = args;
    public object? State { get; set; }
}

/// <summary>
/// A small, safe pickle reader: it builds plain values (dicts, lists, tuples, strings, bytes, numbers) and records
/// calls to globals instead of executing anything. Enough for CIFAR-10's python batches and numpy arrays in them.
/// </summary>
internal sealed class Unpickler
{
    readonly byte[] _data;
    readonly string _location;
    int _pos;
    readonly List<object?> _stack = [];
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = [];

    readonly string _what;

    Unpickler(byte[] data, string location, string what)
    {
        _data = data;
        _location = location;
        _what = what;
    }

    /// <param name="what">What the file should be, for messages ("CIFAR-10 python batch", "PyTorch state_dict").</param>
    public static object? Load(byte[] data, string location, string what = "CIFAR-10 python batch")
    {
        var reader = new Unpickler(data, location, what);
        try
        {
            return reader.Run();
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException or ArgumentException or KeyNotFoundException)
        {
            // A number that is not a number, a class name that is not text, a key that cannot be one: all are damage.
            throw reader.Bad($"malformed pickle near byte {reader._pos}: {e.Message}");
        }
    }

    object? Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                  // PROTO
                case 0x95: ReadBytes(8); break;                                // FRAME
                case (byte)'.': return Pop();                                  // STOP
                case (byte)'(': _marks.Push(_stack.Count); break;             // MARK
                case (byte)'}': Push(new Dictionary<object, object?>()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;             // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break;          // EMPTY_TUPLE
                case (byte)'t': Push(PopToMark().ToArray()); break;           // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                       // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }            // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': Push(PopToMark()); break;                     // LIST
                case (byte)'d': Push(ToDict(PopToMark())); break;             // DICT
                case (byte)'a': { var item = Pop(); Peek<List<object?>>().Add(item); break; } // APPEND
                case (byte)'e': { var items = PopToMark(); Peek<List<object?>>().AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(); var k = Pop(); Peek<Dictionary<object, object?>>()[Key(k)] = v; break; } // SETITEM
                case (byte)'u':                                                // SETITEMS
                    {
                        var items = PopToMark();
                        var dict = Peek<Dictionary<object, object?>>();
                        for (int i = 0; i + 1 < items.Count; i += 2) dict[Key(items[i])] = items[i + 1];
                        break;
                    }
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break;                 // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break;                  // LONG1
                case (byte)'I': Push(ParseIntLine(ReadLine())); break;         // INT (protocol 0)
                case (byte)'L': Push(long.Parse(ReadLine().TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture)); break; // LONG (protocol 0)
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'N': Push(null); break;                             // NONE
                case 0x88: Push(true); break;                                  // NEWTRUE
                case 0x89: Push(false); break;                                 // NEWFALSE
                case (byte)'U': Push(Latin1(ReadBytes(ReadByte()))); break;   // SHORT_BINSTRING (py2 str)
                case (byte)'T': Push(Latin1(ReadBytes(ReadLength4()))); break; // BINSTRING (py2 str)
                case (byte)'X': Push(Encoding.UTF8.GetString(ReadBytes(ReadLength4()))); break; // BINUNICODE
                case 0x8c: Push(Encoding.UTF8.GetString(ReadBytes(ReadByte()))); break;         // SHORT_BINUNICODE
                case 0x8d: Push(Encoding.UTF8.GetString(ReadBytes(ReadLength8()))); break;      // BINUNICODE8
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;                  // SHORT_BINBYTES
                case (byte)'B': Push(ReadBytes(ReadLength4()).ToArray()); break;               // BINBYTES
                case 0x8e: Push(ReadBytes(ReadLength8()).ToArray()); break;                     // BINBYTES8
                case (byte)'c': Push(new PickleGlobal(ReadLine(), ReadLine())); break;          // GLOBAL
                case 0x93: { var name = (string)Pop()!; var module = (string)Pop()!; Push(new PickleGlobal(module, name)); break; } // STACK_GLOBAL
                case (byte)'R':                                                // REDUCE
                case 0x81:                                                     // NEWOBJ
                    {
                        var args = Pop() as object?[] ?? throw Bad("call arguments are not a tuple");
                        var callable = Pop() as PickleGlobal ?? throw Bad("call target is not a global");
                        // Python 3 writes bytes under protocol 2 as _codecs.encode(text, 'latin1'): undo that here.
                        if (callable is { Module: "_codecs", Name: "encode" } && args is [string text, "latin1" or "latin-1"])
                            Push(Encoding.Latin1.GetBytes(text));
                        // torch.save's state_dict is an OrderedDict: a plain dict here, filled by the SETITEMS that follow.
                        else if (callable is { Module: "collections", Name: "OrderedDict" } && args.Length == 0)
                            Push(new Dictionary<object, object?>());
                        else Push(new PickleCall(callable, args));
                        break;
                    }
                case (byte)'b':                                                // BUILD
                    {
                        var state = Pop();
                        if (PeekAny() is PickleCall call) call.State = state;
                        else if (PeekAny() is not Dictionary<object, object?>) throw Bad("BUILD on something that is not an object"); // an OrderedDict's _metadata: not needed
                        break;
                    }
                case (byte)'Q': Push(new PicklePersistent(Pop())); break;     // BINPERSID
                case (byte)'q': _memo[ReadByte()] = PeekAny(); break;          // BINPUT
                case (byte)'r': _memo[ReadLength4()] = PeekAny(); break;      // LONG_BINPUT
                case (byte)'p': _memo[long.Parse(ReadLine())] = PeekAny(); break; // PUT
                case 0x94: _memo[_memo.Count] = PeekAny(); break;              // MEMOIZE
                case (byte)'h': Push(Memo(ReadByte())); break;                 // BINGET
                case (byte)'j': Push(Memo(ReadLength4())); break;             // LONG_BINGET
                case (byte)'g': Push(Memo(long.Parse(ReadLine()))); break;    // GET
                default: throw Bad($"unsupported pickle opcode 0x{op:x2} at byte {_pos - 1}");
            }
        }
    }

    DataFormatException Bad(string what) => new($"{_location}: not a readable {_what} ({what}).");

    byte ReadByte() => _pos < _data.Length ? _data[_pos++] : throw Bad("the file ends early; truncated?");

    ReadOnlySpan<byte> ReadBytes(long count)
    {
        if (count < 0 || _pos + count > _data.Length) throw Bad("the file ends early; truncated?");
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    int ReadLength4() => BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4));
    long ReadLength8() => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8));

    string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Bad("the file ends early; truncated?");
        string line = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    static object ParseIntLine(string line) => line switch { "00" => false, "01" => true, _ => long.Parse(line, System.Globalization.CultureInfo.InvariantCulture) };

    static long ReadLong(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 8) throw new DataFormatException("integer too large in pickle");
        long value = 0;
        for (int i = bytes.Length - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0) value -= 1L << (8 * bytes.Length);
        return value;
    }

    long ReadLong(int length) => ReadLong(ReadBytes(length));

    static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    static object Key(object? key) => key switch
    {
        byte[] b => Encoding.Latin1.GetString(b),
        null => "None",
        _ => key,
    };

    static Dictionary<object, object?> ToDict(List<object?> items)
    {
        var dict = new Dictionary<object, object?>();
        for (int i = 0; i + 1 < items.Count; i += 2) dict[Key(items[i])] = items[i + 1];
        return dict;
    }

    object? Memo(long index) => _memo.TryGetValue(index, out var value) ? value : throw Bad($"unknown memo entry {index}");

    void Push(object? value) => _stack.Add(value);

    object? Pop()
    {
        if (_stack.Count == 0) throw Bad("stack underflow");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    object? PeekAny() => _stack.Count > 0 ? _stack[^1] : throw Bad("stack underflow");

    T Peek<T>() where T : class => PeekAny() as T ?? throw Bad($"expected a {typeof(T).Name} on the stack");

    List<object?> PopToMark()
    {
        if (_marks.Count == 0) throw Bad("missing mark");
        int mark = _marks.Pop();
        if (mark > _stack.Count) throw Bad("stack underflow");
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }
}
