// Shared by the runtime, the generator and the analyzers: one list of vLLM's mamba types.
namespace MambaGen
{
    /// <summary>One vLLM mamba type: its name, the backend that drives it and how many states it keeps.</summary>
    internal sealed class KnownMambaType
    {
        public KnownMambaType(string name, string backendTypeName, int stateCount)
        {
            Name = name;
            BackendTypeName = backendTypeName;
            StateCount = stateCount;
        }

        /// <summary>The name used in <c>[MambaLayer("...")]</c> and in vLLM's <c>MAMBA_TYPE_TO_BACKEND_MAP</c>.</summary>
        public string Name { get; }

        /// <summary>Fully qualified name of the built-in backend class, without <c>global::</c>.</summary>
        public string BackendTypeName { get; }

        /// <summary>Number of state tensors a layer of this type keeps (conv, SSM...).</summary>
        public int StateCount { get; }
    }

    internal static class KnownMambaTypes
    {
        public const string Mamba1 = "mamba1";
        public const string Mamba2 = "mamba2";
        public const string ShortConv = "short_conv";
        public const string LinearAttention = "linear_attention";
        public const string GdnAttention = "gdn_attention";

        /// <summary>vLLM's map of mamba type to backend (registry.py), in its order.</summary>
        public static readonly KnownMambaType[] All =
        {
            new KnownMambaType(Mamba1, "MambaGen.Backends.Mamba1AttentionBackend", 2),
            new KnownMambaType(Mamba2, "MambaGen.Backends.Mamba2AttentionBackend", 2),
            new KnownMambaType(ShortConv, "MambaGen.Backends.ShortConvAttentionBackend", 1),
            new KnownMambaType(LinearAttention, "MambaGen.Backends.LinearAttentionBackend", 1),
            new KnownMambaType(GdnAttention, "MambaGen.Backends.GdnAttentionBackend", 2),
        };

        public static KnownMambaType? Find(string? name)
        {
            foreach (var t in All)
            {
                if (t.Name == name)
                {
                    return t;
                }
            }

            return null;
        }
    }
}
