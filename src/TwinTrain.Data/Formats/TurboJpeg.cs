using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace TwinTrain.Data.Formats;

/// <summary>
/// JPEG decoding through libjpeg-turbo's TurboJPEG API, the library PIL, torchvision and Keras's image loading use,
/// with its default settings (accurate integer IDCT, fancy upsampling, RGB out): the pixels a Python pipeline sees.
/// No managed decoder gives them: on CIFAR-10's 4:2:0 JPEGs the ones on NuGet differ in 7% to 34% of channel values.
/// </summary>
static partial class TurboJpeg
{
    const string Library = "turbojpeg";
    const int PixelFormatRgb = 0, ErrorWarning = 0;

    static TurboJpeg() => NativeLibrary.SetDllImportResolver(typeof(TurboJpeg).Assembly, Resolve);

    /// <summary>What decodes JPEG here, for run.json: the library's version and file, and its settings.</summary>
    public static string Description => DescriptionOnce.Value;

    static readonly Lazy<string> DescriptionOnce = new(() =>
    {
        string? file = LoadedFile();
        string version = file is null ? "libjpeg-turbo" : VersionIn(file) ?? "libjpeg-turbo";
        return $"{version} (TurboJPEG{(file is null ? "" : ", " + file)}): accurate integer IDCT, fancy upsampling";
    });

    /// <summary>Decodes a JPEG to interleaved RGB (grey images repeated over the three channels, as PIL's convert("RGB")).</summary>
    public static (byte[] Rgb, int Width, int Height) Decode(byte[] jpeg, string location, long maxPixels)
    {
        nint handle = Init(location);
        try
        {
            var size = new CULong((nuint)jpeg.Length);
            if (tjDecompressHeader3(handle, jpeg, size, out int width, out int height, out _, out _) != 0)
                throw Failure(handle, location);
            if ((long)width * height > maxPixels)
                throw new DataFormatException($"{location}: the image is {width}x{height}, more than the {maxPixels:N0} pixels allowed; resize it first.");
            var rgb = new byte[checked(width * height * 3)];
            if (tjDecompress2(handle, jpeg, size, rgb, width, 0, height, PixelFormatRgb, 0) != 0)
                throw Failure(handle, location);
            return (rgb, width, height);
        }
        finally
        {
            _ = tjDestroy(handle);
        }
    }

    static nint Init(string location)
    {
        nint handle;
        try
        {
            handle = tjInitDecompress();
        }
        catch (DllNotFoundException)
        {
            throw new DataFormatException(
                $"{location}: decoding JPEG needs libjpeg-turbo's TurboJPEG library (libturbojpeg.so.0), which is not installed " +
                "(Debian/Ubuntu: apt-get install libturbojpeg0; Fedora: dnf install turbojpeg; macOS: brew install jpeg-turbo).");
        }
        if (handle == 0) throw new DataFormatException($"{location}: libjpeg-turbo could not start a decoder (out of memory?).");
        return handle;
    }

    /// <summary>
    /// A warning (corrupt data libjpeg decoded past) fails too: PIL would return those pixels without a word, but an image
    /// whose data is corrupt is not one to train on silently.
    /// </summary>
    static DataFormatException Failure(nint handle, string location)
    {
        string reason = Marshal.PtrToStringUTF8(tjGetErrorStr2(handle))?.Trim() is { Length: > 0 } text ? text : "no reason given";
        string what = tjGetErrorCode(handle) == ErrorWarning ? "the JPEG data is corrupt" : "cannot decode the JPEG";
        return new DataFormatException($"{location}: {what} (libjpeg-turbo: {reason}).");
    }

    static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return 0;
        foreach (string candidate in (string[])["libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib", "turbojpeg.dll"])
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out nint handle)) return handle;
        }
        return 0;
    }

    /// <summary>The library file the process loaded (Linux: from /proc/self/maps), or null where that cannot be told.</summary>
    static string? LoadedFile()
    {
        try
        {
            nint handle = Init("libturbojpeg");
            _ = tjDestroy(handle);
            const string maps = "/proc/self/maps";
            if (!File.Exists(maps)) return null;
            return File.ReadLines(maps).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6 && fields[5].Contains("turbojpeg", StringComparison.Ordinal))
                .Select(fields => fields[5]).FirstOrDefault();
        }
        catch (Exception e) when (e is DataFormatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>libjpeg-turbo keeps "libjpeg-turbo version X (build Y)" in its binary; the TurboJPEG 2 API has no call for it.</summary>
    static string? VersionIn(string file)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(file);
            byte[] marker = "libjpeg-turbo version "u8.ToArray();
            int start = bytes.AsSpan().IndexOf(marker);
            if (start < 0) return null;
            int end = start + marker.Length;
            while (end < bytes.Length && bytes[end] is >= (byte)'0' and <= (byte)'9' or (byte)'.') end++;
            return "libjpeg-turbo " + Encoding.ASCII.GetString(bytes, start + marker.Length, end - start - marker.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LibraryImport(Library)]
    private static partial nint tjInitDecompress();

    [LibraryImport(Library)]
    private static partial int tjDecompressHeader3(nint handle, byte[] jpeg, CULong size, out int width, out int height, out int subsampling, out int colorspace);

    [LibraryImport(Library)]
    private static partial int tjDecompress2(nint handle, byte[] jpeg, CULong size, [Out] byte[] destination, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library)]
    private static partial nint tjGetErrorStr2(nint handle);

    [LibraryImport(Library)]
    private static partial int tjGetErrorCode(nint handle);

    [LibraryImport(Library)]
    private static partial int tjDestroy(nint handle);
}
