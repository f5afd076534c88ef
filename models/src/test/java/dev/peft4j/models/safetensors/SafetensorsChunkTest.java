package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The >2 GB path: the data section is mapped in windows, and tensors that straddle a window
 * boundary are assembled across windows. Tiny windows make every case happen in a small file.
 */
class SafetensorsChunkTest {
    @TempDir
    Path dir;

    @Test
    void tensorsStraddlingMappingWindowsReadTheSameAsOneWindow() {
        Random random = new Random(42);
        List<SafetensorsWriter.RawTensor> tensors = new ArrayList<>();
        SafetensorsDType[] types = {SafetensorsDType.F32, SafetensorsDType.BF16, SafetensorsDType.I64, SafetensorsDType.U8,
            SafetensorsDType.F16, SafetensorsDType.BOOL, SafetensorsDType.I16, SafetensorsDType.F64};
        for (int i = 0; i < 24; i++) {
            SafetensorsDType type = types[i % types.length];
            int count = 1 + random.nextInt(300);
            byte[] bytes = new byte[count * type.byteSize()];
            random.nextBytes(bytes);
            if (type == SafetensorsDType.BOOL) {
                for (int k = 0; k < bytes.length; k++) {
                    bytes[k] &= 1;
                }
            }
            if (type == SafetensorsDType.F32) {
                ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
                for (int k = 0; k < count; k++) {
                    b.putFloat(k * 4, (float) random.nextGaussian()); // no NaN bit patterns: exact compare
                }
            }
            tensors.add(new SafetensorsWriter.RawTensor("t" + i, type, new long[] {count}, ByteBuffer.wrap(bytes)));
        }
        Path path = dir.resolve("chunks.safetensors");
        SafetensorsWriter.writeRaw(path, tensors, null);

        try (NDManager m = NDManager.newBaseManager(); SafetensorsFile whole = SafetensorsFile.open(path)) {
            for (long chunk : new long[] {1, 3, 7, 64, 1000, 4096}) {
                int straddling = 0;
                try (SafetensorsFile f = SafetensorsFile.open(path, chunk)) {
                    for (SafetensorsWriter.RawTensor t : tensors) {
                        TensorEntry e = f.entry(t.name());
                        if (e.begin() / chunk != (e.end() - 1) / chunk) {
                            straddling++;
                        }
                        assertThat(f.rawBytes(t.name())).as("chunk %d %s", chunk, e).isEqualTo(t.data().duplicate());
                        try (NDArray a = f.load(t.name(), m); NDArray b = whole.load(t.name(), m)) {
                            assertThat(a.toByteBuffer()).as("chunk %d %s", chunk, e).isEqualTo(b.toByteBuffer());
                        }
                        if (e.dtype().isFloating()) {
                            assertThat(f.readFloats(t.name())).isEqualTo(whole.readFloats(t.name()));
                        }
                    }
                }
                if (chunk < 1000) {
                    assertThat(straddling).as("tensors straddling %d-byte windows", chunk).isGreaterThan(10);
                }
            }
        }
    }

    /**
     * Opt-in ({@code -Dpeft4j.bigTests=true}): a real 3.3 GB sparse file with a tensor across the
     * 1 GB window boundary, one beyond 2^31, and one too large for a single buffer.
     */
    @Test
    void sparseFileBeyond2GbReadsTensorsPast2Pow31() throws IOException {
        Assumptions.assumeTrue(Boolean.getBoolean("peft4j.bigTests"), "set -Dpeft4j.bigTests=true to write a 3.3 GB sparse file");
        long window = SafetensorsFile.DEFAULT_CHUNK_BYTES;
        long midBegin = window - 8;
        long bigBegin = midBegin + 16;
        long bigBytes = 2_200_000_000L;
        long tailBegin = bigBegin + bigBytes;
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"head\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"pad\":{\"dtype\":\"U8\",\"shape\":[" + (midBegin - 16) + "],\"data_offsets\":[16," + midBegin + "]},"
                + "\"mid\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + midBegin + "," + bigBegin + "]},"
                + "\"big\":{\"dtype\":\"U8\",\"shape\":[" + bigBytes + "],\"data_offsets\":[" + bigBegin + "," + tailBegin + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + tailBegin + "," + (tailBegin + 16) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        header = java.util.Arrays.copyOf(header, (header.length + 7) / 8 * 8);
        for (int i = json.length(); i < header.length; i++) {
            header[i] = ' ';
        }
        long dataStart = 8 + header.length;
        Path path = dir.resolve("big.safetensors");
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            out.write(ByteBuffer.wrap(header));
            out.write(floats(1, 2, 3, 4), dataStart);
            out.write(floats(5, 6, 7, 8), dataStart + midBegin);
            out.write(floats(9, 10, 11, 12), dataStart + tailBegin);
        }
        try (SafetensorsFile f = SafetensorsFile.open(path); NDManager m = NDManager.newBaseManager()) {
            assertThat(f.readFloats("head")).containsExactly(1, 2, 3, 4);
            assertThat(f.readFloats("mid")).containsExactly(5, 6, 7, 8);
            assertThat(f.readFloats("tail")).containsExactly(9, 10, 11, 12);
            try (NDArray tail = f.load("tail", m)) {
                assertThat(tail.toFloatArray()).containsExactly(9, 10, 11, 12);
            }
            assertThatThrownBy(() -> f.rawBytes("big")).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("tensor 'big'").hasMessageContaining("more than one Java buffer holds");
        }
    }

    private static ByteBuffer floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.flip();
    }
}
