using System.Diagnostics;
using TwinTrain.Data.Formats;
using TwinTrain.Data.Tests.Fixtures;
using TwinTrain.Tests.Shared;
using Xunit.Abstractions;

namespace TwinTrain.Data.Tests;

/// <summary>
/// A user's image folder as keras.utils.image_dataset_from_directory and torchvision.datasets.ImageFolder read it:
/// classes are the sorted subfolder names (Keras: sorted(os.listdir) in dataset_utils.index_directory; torchvision:
/// sorted(entry.name) in find_classes), images of any size and channel count; --image-size and --color as
/// image_size and color_mode, checked against Pillow and torch themselves (Scripts/reference_images.py).
/// </summary>
public class ImageFolderTests(ITestOutputHelper output)
{
    const string DebianPython = "/usr/bin/python3";

    /// <summary>A colourful w x h image: every channel of every pixel depends on (seed, x, y, channel).</summary>
    static byte[] Rgb(int seed, int width, int height) =>
        [.. Enumerable.Range(0, width * height * 3).Select(i => (byte)((i / 3 % width * 37 + i / 3 / width * 11 + i % 3 * 85 + seed * 29) % 256))];

    /// <summary>train/ and test/ with the given classes, <paramref name="perClass"/> PNGs each, all of one size.</summary>
    static Dictionary<string, byte[]> Folder(string[] classes, int perClass, int width, int height)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (string split in new[] { "train", "test" })
            for (int c = 0; c < classes.Length; c++)
                for (int i = 0; i < perClass; i++)
                    files[$"pets/{split}/{classes[c]}/{i:D3}.png"] = CifarFixtures.Png(Rgb(c * 10 + i + (split == "test" ? 5 : 0), width, height), width, height);
        return files;
    }

    [Fact]
    public void Should_number_the_classes_in_sorted_order_and_keep_images_of_any_size()
    {
        using var temp = new TempFolder();
        // Listed out of order, with a capital, which sorts first in Python's and ordinal order alike.
        var files = Folder(["zebra", "ant", "Yak"], perClass: 2, width: 20, height: 12);
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp.Path, files), "pets");
        var (data, report) = DatasetLoader.Load(folder, useCache: false);
        Assert.True(data.Info.IsImageFolder);
        Assert.Equal("pets", data.Info.Title);
        Assert.Equal(["Yak", "ant", "zebra"], data.Info.ClassNames);
        Assert.Equal(new ImageShape(12, 20, 3), data.Info.Shape);
        Assert.Equal(nameof(DataForm.ImageFolder), report.Form);
        Assert.Equal([0, 0, 1, 1, 2, 2], data.Train.Labels);
        // The first 'zebra' training image (class 0 in the listing, seed 0) is label 2's first.
        Assert.Equal(Rgb(0, 20, 12), data.Train.Image(4).ToArray());
    }

    [Fact]
    public void Should_recognise_a_folder_of_cifar10s_classes_as_cifar10()
    {
        using var temp = new TempFolder();
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp.Path, CifarFixtures.ImageFolder(1, 1)), "cifar10");
        Assert.Equal(DatasetInfo.Cifar10, DatasetLoader.Load(folder, useCache: false).Data.Info);
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, "24,40")]
    [InlineData(true, "7,9")]
    public void Should_make_grey_and_resized_images_as_pillow_and_torch_make_them(bool grayscale, string? size)
    {
        using var temp = new TempFolder();
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp.Path, Folder(["a", "b"], perClass: 3, width: 20, height: 12)), "pets");
        var options = new ImageFolderOptions(Grayscale: grayscale);
        if (size is not null)
        {
            var (h, w) = ImageFolderOptions.ParseSize(size);
            options = options with { Height = h, Width = w };
        }
        var (data, _) = DatasetLoader.Load(folder, useCache: false, images: options);
        Assert.Equal(grayscale ? 1 : 3, data.Info.Shape.Channels);

        // The images in the order the data set holds them: class, then file name.
        var paths = new[] { "a", "b" }.SelectMany(c => Enumerable.Range(0, 3).Select(i => Path.Combine(folder, "train", c, $"{i:D3}.png"))).ToList();
        byte[] reference = Reference(paths, grayscale, size);
        Assert.Equal(reference.Length, data.Train.Pixels.Length);
        int exact = 0, worst = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            int difference = Math.Abs(reference[i] - data.Train.Pixels[i]);
            exact += difference == 0 ? 1 : 0;
            worst = Math.Max(worst, difference);
        }
        output.WriteLine($"{exact:N0} of {reference.Length:N0} values as the reference makes them; largest difference {worst}");
        if (size is null) Assert.Equal(reference, data.Train.Pixels); // no resampling: bit for bit
        else
        {
            // The same sampling points; torch sums the four taps in another order than TensorFlow (whose order
            // TwinTrain follows), so a value within float32 rounding of a half may round the other way.
            Assert.True(worst <= 1, $"a value {worst} away from torch's bilinear interpolation");
            Assert.True(exact >= reference.Length * 0.98, $"only {exact} of {reference.Length} values equal torch's");
        }
    }

    [Fact]
    public void Should_resize_by_the_half_pixel_rule()
    {
        // A 1x4 row resized to 1x8: output x samples input (x + 0.5) / 2 - 0.5, clamped: 0, 0.25, 0.75, 1.25, ...
        byte[] row = [0, 40, 80, 200];
        Assert.Equal([0, 10, 30, 50, 70, 110, 170, 200], ImageResize.Bilinear(row, 1, 4, 1, 1, 8));
        // Halving takes the mean of each pair (no antialiasing beyond the two taps).
        Assert.Equal([20, 140], ImageResize.Bilinear(row, 1, 4, 1, 1, 2));
    }

    public static TheoryData<string, string> BadFolders => new()
    {
        { "mixed sizes", "train/b/000.png: 16x12 pixels, but" },
        { "one class", "the image folder has one class ('a' under train/); a classifier needs two or more" },
        { "stray test class", "'test/c/000.png' is in the class 'c', which train/ does not have" },
        { "empty test", "the 'test' split has no images" },
    };

    [Theory]
    [MemberData(nameof(BadFolders))]
    public void Should_refuse_a_bad_image_folder_in_one_line(string fault, string expected)
    {
        using var temp = new TempFolder();
        var files = Folder(["a", "b"], perClass: 1, width: 20, height: 12);
        switch (fault)
        {
            case "mixed sizes": files["pets/train/b/000.png"] = CifarFixtures.Png(Rgb(1, 16, 12), 16, 12); break;
            case "one class": files = files.Where(f => !f.Key.Contains("/b/")).ToDictionary(); break;
            case "stray test class": files["pets/test/c/000.png"] = files["pets/test/a/000.png"]; break;
            case "empty test": files = files.Where(f => !f.Key.Contains("/test/")).ToDictionary(); break;
        }
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp.Path, files), "pets");
        var error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(folder, temp["cache"]));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Directory.Exists(temp["cache"]) && Directory.EnumerateFiles(temp["cache"]).Any(), "a refused folder left a cache behind");
        if (fault == "mixed sizes")
        {
            // With --image-size the same folder is fine: every image is resized.
            var (data, _) = DatasetLoader.Load(folder, useCache: false, images: new ImageFolderOptions(12, 20));
            Assert.Equal(new ImageShape(12, 20, 3), data.Info.Shape);
        }
    }

    [Fact]
    public void Should_cache_an_image_folder_per_size_and_colour_with_its_classes()
    {
        using var temp = new TempFolder();
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp.Path, Folder(["cat", "dog"], perClass: 2, width: 20, height: 12)), "pets");
        var grey = new ImageFolderOptions(Grayscale: true);
        var first = DatasetLoader.Load(folder, temp["cache"], images: grey);
        var again = DatasetLoader.Load(folder, temp["cache"], images: grey);
        var colour = DatasetLoader.Load(folder, temp["cache"]);
        Assert.True(again.Report.FromCache);
        Assert.False(colour.Report.FromCache);
        Assert.Equal(first.Data.Info, again.Data.Info);
        Assert.Equal("pets", again.Data.Info.Title);
        Assert.Equal(first.Data.Train.Pixels, again.Data.Train.Pixels);
        Assert.Equal(3, colour.Data.Info.Shape.Channels);
    }

    /// <summary>
    /// The first pass lists the images without reading them; the second decodes them in the same order, each into its
    /// place. A source whose images are not those listed a moment before (changed between the passes) is refused, not
    /// read into the wrong places.
    /// </summary>
    [Fact]
    public void Should_list_images_unread_and_refuse_a_source_that_changed_before_they_were_decoded()
    {
        var reader = new ImageFolderReader(ImageFolderOptions.Default);
        static byte[] Unread() => throw new InvalidOperationException("the first pass read an image");
        reader.List(new("train/cat/1.png", "pets/train/cat/1.png", Unread));
        reader.List(new("test/cat/2.png", "pets/test/cat/2.png", Unread));
        var error = Assert.Throws<DataFormatException>(() => reader.Decode(new("train/dog/3.png", "pets/train/dog/3.png", () => [])));
        Assert.Equal("pets/train/dog/3.png: the source changed while it was read (its images are not those listed a moment before); read it again.", error.Message);
        var missing = Assert.Throws<DataFormatException>(() => reader.Build("pets"));
        Assert.Contains("0 of the 2 images listed were found again", missing.Message);
    }

    static byte[] Reference(IReadOnlyList<string> paths, bool grayscale, string? size)
    {
        if (!File.Exists(DebianPython))
            throw new FileNotFoundException($"This test compares with Pillow and torch and needs {DebianPython} (apt-get install python3-pil python3-torch).");
        var start = new ProcessStartInfo(DebianPython) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(SharedData.RepositoryRoot, "tests", "TwinTrain.Data.Tests", "Scripts", "reference_images.py"));
        if (grayscale) start.ArgumentList.Add("--grayscale");
        if (size is not null)
        {
            start.ArgumentList.Add("--size");
            start.ArgumentList.Add(size);
        }
        foreach (string path in paths) start.ArgumentList.Add(path);
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var python = Process.Start(start)!;
        using var bytes = new MemoryStream();
        var copy = python.StandardOutput.BaseStream.CopyToAsync(bytes);
        string errors = python.StandardError.ReadToEnd();
        copy.Wait();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, $"reference_images.py failed: {errors}");
        return bytes.ToArray();
    }
}
