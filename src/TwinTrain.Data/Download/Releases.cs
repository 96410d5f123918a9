namespace TwinTrain.Data.Download;

/// <summary>One file of a release: its name, where it is fetched from and its MD5.</summary>
public sealed record ReleaseFile(string Name, Uri Url, string Md5);

/// <summary>
/// A data set's official release: the files `twintrain download` fetches, into <see cref="Folder"/> under the data
/// folder, and what --data then points at (<see cref="Entry"/>: the archive, or the folder of IDX files).
/// </summary>
public sealed record Release(DatasetInfo Dataset, string Folder, string Entry, string Size, IReadOnlyList<ReleaseFile> Files)
{
    /// <summary>Where the release is (or goes) under <paramref name="dataFolder"/>.</summary>
    public string EntryIn(string dataFolder) => Path.Combine(dataFolder, Entry);

    /// <summary>The same release from another address: a single file from <paramref name="url"/>, several from under it (a test server).</summary>
    public Release From(Uri url, IReadOnlyList<string>? md5s = null) => this with
    {
        Files = [.. Files.Select((f, i) => f with
        {
            Url = Files.Count == 1 ? url : new Uri(url, f.Name),
            Md5 = md5s is null ? f.Md5 : md5s[i],
        })],
    };
}

/// <summary>
/// The official releases, from the addresses and with the MD5s that keras.datasets and torchvision.datasets use:
/// CIFAR-10's binary and CIFAR-100's python archive from the University of Toronto (torchvision's CIFAR100:
/// tgz_md5), Fashion-MNIST's four IDX files from its S3 mirror (torchvision's FashionMNIST.resources), MNIST's from
/// the mirror torchvision uses (MNIST.resources).
/// </summary>
public static class Releases
{
    static readonly Uri Toronto = new("https://www.cs.toronto.edu/~kriz/");
    static readonly Uri FashionMnistMirror = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");
    static readonly Uri MnistMirror = new("https://ossci-datasets.s3.amazonaws.com/mnist/");

    static IReadOnlyList<ReleaseFile> Idx(Uri mirror, params string[] md5s) =>
    [
        .. new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" }
            .Select((name, i) => new ReleaseFile(name, new Uri(mirror, name), md5s[i])),
    ];

    public static IReadOnlyList<Release> All { get; } =
    [
        new(DatasetInfo.Cifar10, "", Downloader.FileName, "162 MB",
            [new ReleaseFile(Downloader.FileName, new Uri(Downloader.OfficialUrl), Downloader.OfficialMd5)]),
        new(DatasetInfo.Cifar100, "", "cifar-100-python.tar.gz", "169 MB",
            [new ReleaseFile("cifar-100-python.tar.gz", new Uri(Toronto, "cifar-100-python.tar.gz"), "eb9058c3a382ffc7106e4002c42a8d85")]),
        new(DatasetInfo.FashionMnist, "fashion-mnist", "fashion-mnist", "30 MB", Idx(FashionMnistMirror,
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        new(DatasetInfo.Mnist, "mnist", "mnist", "12 MB", Idx(MnistMirror,
            "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432", "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
    ];

    /// <summary>The release of <paramref name="dataset"/> (CIFAR-100's coarse labels are in CIFAR-100's release).</summary>
    public static Release Of(DatasetInfo dataset) =>
        All.FirstOrDefault(r => r.Dataset == (dataset == DatasetInfo.Cifar100Coarse ? DatasetInfo.Cifar100 : dataset))
        ?? throw new ArgumentException($"{dataset.Title} has no official release to download; point --data at it.");
}
