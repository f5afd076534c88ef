package dev.peft4j.models.safetensors;

import ai.djl.ndarray.types.DataType;
import java.util.Optional;

/**
 * The safetensors element types peft4j reads and writes, spelled exactly as in the file header.
 * Other types of the format (U16, U32, U64, the 8-bit floats) are rejected as unsupported.
 */
public enum SafetensorsDType {
    F64(8),
    F32(4),
    F16(2),
    BF16(2),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    BOOL(1);

    private final int byteSize;

    SafetensorsDType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether {@link SafetensorsFile#readFloats} accepts this type. */
    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The header spelling ({@code "F32"}), case-sensitive like HF's reader. */
    public static Optional<SafetensorsDType> fromHeader(String text) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(text)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * The DJL type a tensor of this type loads as. BF16 loads as FLOAT32 (a BFLOAT16 DJL tensor
     * aborts the JVM) and I16 as INT32 (an INT16 tensor aborts the JVM too: exit 134 on
     * {@code manager.zeros(shape, DataType.INT16)}, DJL 0.35.1).
     */
    public DataType loadedDataType() {
        switch (this) {
            case F64: return DataType.FLOAT64;
            case F32: case BF16: return DataType.FLOAT32;
            case F16: return DataType.FLOAT16;
            case I64: return DataType.INT64;
            case I32: case I16: return DataType.INT32;
            case I8: return DataType.INT8;
            case U8: return DataType.UINT8;
            case BOOL: return DataType.BOOLEAN;
            default: throw new AssertionError(this);
        }
    }

    /** The safetensors type for a DJL type, empty where the writer cannot store it. */
    public static Optional<SafetensorsDType> fromDataType(DataType type) {
        switch (type) {
            case FLOAT64: return Optional.of(F64);
            case FLOAT32: return Optional.of(F32);
            case FLOAT16: return Optional.of(F16);
            case INT64: return Optional.of(I64);
            case INT32: return Optional.of(I32);
            case INT16: return Optional.of(I16);
            case INT8: return Optional.of(I8);
            case UINT8: return Optional.of(U8);
            case BOOLEAN: return Optional.of(BOOL);
            default: return Optional.empty();
        }
    }
}
