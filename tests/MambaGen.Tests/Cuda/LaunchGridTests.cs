using System;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public class LaunchGridTests
{
    [Theory]
    [InlineData(1, 256, 1)]
    [InlineData(256, 256, 1)]
    [InlineData(257, 256, 2)]
    [InlineData(1000, 128, 8)]
    public void Blocks_gives_one_thread_per_item_rounded_up_to_whole_blocks(long work, int threads, int blocks)
    {
        var grid = LaunchGrid.Blocks(work, threads);

        Assert.Equal(new LaunchGrid(blocks, 1, 1, threads, 1, 1), grid);
    }

    [Fact]
    public void Blocks_refuses_no_work_a_block_over_1024_threads_and_a_grid_over_grid_x()
    {
        Assert.Contains("at least one item", Assert.Throws<ArgumentOutOfRangeException>(() => LaunchGrid.Blocks(0, 256)).Message);
        Assert.Contains("1..1024", Assert.Throws<ArgumentOutOfRangeException>(() => LaunchGrid.Blocks(10, 1025)).Message);
        Assert.Contains("grid.x limit", Assert.Throws<ArgumentOutOfRangeException>(() => LaunchGrid.Blocks(long.MaxValue / 2, 1)).Message);
    }

    [Fact]
    public void Validate_accepts_shapes_at_CUDAs_limits()
    {
        new LaunchGrid(int.MaxValue, 65535, 65535, 1024, 1, 1).Validate();
        new LaunchGrid(1, 1, 1, 16, 16, 4).Validate();
        new LaunchGrid(1, 1, 1, 1, 1, 64, 200 * 1024).Validate();
    }

    [Theory]
    [InlineData(0, 1, 1, 32, 1, 1, 0, "grid 0x1x1 has a size below 1")]
    [InlineData(1, 1, 1, 0, 1, 1, 0, "block 0x1x1 has a size below 1")]
    [InlineData(1, 65536, 1, 32, 1, 1, 0, "65535 for grid.y")]
    [InlineData(1, 1, 65536, 32, 1, 1, 0, "65535 for grid.z")]
    [InlineData(1, 1, 1, 1025, 1, 1, 0, "per-dimension limits")]
    [InlineData(1, 1, 1, 1, 1, 65, 0, "per-dimension limits")]
    [InlineData(1, 1, 1, 32, 32, 2, 0, "2048 threads is over CUDA's 1024 per block")]
    [InlineData(1, 1, 1, 32, 1, 1, -1, "negative")]
    public void Validate_names_the_limit_a_bad_shape_breaks(int gx, int gy, int gz, int bx, int by, int bz, int shared, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => new LaunchGrid(gx, gy, gz, bx, by, bz, shared).Validate());

        Assert.Contains(expected, e.Message);
    }
}
