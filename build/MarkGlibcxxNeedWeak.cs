using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Sets VER_FLG_WEAK on the GLIBCXX_3.4.32 entry of .gnu.version_r in libLibTorchSharp.so copies under Folder.
public class MarkGlibcxxNeedWeak : Task
{
    const string Library = "libLibTorchSharp.so";
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required]
    public string Folder { get; set; } = "";

    public override bool Execute()
    {
        if (!Directory.Exists(Folder)) return true;
        string[] copies = Directory.GetFiles(Folder, Library, SearchOption.AllDirectories);
        if (copies.Length == 0) return true;
        if (SystemLibstdcxxHas(Version))
        {
            Log.LogMessage(MessageImportance.Low, "libstdc++ provides " + Version + "; " + Library + " left as is.");
            return true;
        }
        foreach (string path in copies)
        {
            try
            {
                Patch(path);
            }
            catch (Exception e)
            {
                Log.LogError("Could not mark " + Version + " weak in " + path + ": " + e.Message);
                return false;
            }
        }
        return true;
    }

    static bool SystemLibstdcxxHas(string version)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate) && IndexOf(File.ReadAllBytes(candidate), needle) >= 0) return true;
        }
        return false;
    }

    void Patch(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian 64-bit ELF file");

        long sectionHeaders = (long)BitConverter.ToUInt64(elf, 0x28);
        int entrySize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        bool changed = false, found = false;
        for (int s = 0; s < sectionCount; s++)
        {
            long header = sectionHeaders + (long)s * entrySize;
            if (BitConverter.ToUInt32(elf, (int)header + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)header + 0x18);
            int linkedStrings = (int)BitConverter.ToUInt32(elf, (int)header + 0x28);
            long strings = (long)BitConverter.ToUInt64(elf, (int)(sectionHeaders + (long)linkedStrings * entrySize + 0x18));
            int needCount = (int)BitConverter.ToUInt32(elf, (int)header + 0x2C);

            long need = offset;
            for (int n = 0; n < needCount; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    long name = strings + BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadCString(elf, (int)name) == Version)
                    {
                        found = true;
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                            changed = true;
                        }
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        if (!found)
        {
            Log.LogMessage(MessageImportance.Low, path + " does not need " + Version + ".");
            return;
        }
        if (!changed) return;

        // Write beside and rename: never writes through a hard link into the NuGet cache, and keeps the
        // original timestamp so incremental builds see the copy as up to date and do not overwrite it.
        DateTime stamp = File.GetLastWriteTimeUtc(path);
        string temp = path + ".weak.tmp";
        File.WriteAllBytes(temp, elf);
        File.SetLastWriteTimeUtc(temp, stamp);
        File.Delete(path);
        File.Move(temp, path);
        Log.LogMessage(MessageImportance.High, "Marked " + Version + " weak in " + path);
    }

    static string ReadCString(byte[] bytes, int start)
    {
        int end = start;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, start, end - start);
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
