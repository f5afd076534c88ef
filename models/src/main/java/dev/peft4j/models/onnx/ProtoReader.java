package dev.peft4j.models.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked reader of the protobuf wire format over one message's bytes. Every read checks
 * the remaining length first, so garbage input ends in an {@link OnnxFormatException} naming the
 * source and byte offset, never in an index error or a huge allocation.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteBuffer buffer;
    private final String source;
    /** Offset of this message's first byte in the file, for error messages. */
    private final long base;

    ProtoReader(ByteBuffer buffer, String source, long base) {
        this.buffer = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
        this.base = base;
    }

    boolean hasMore() {
        return buffer.hasRemaining();
    }

    long offset() {
        return base + buffer.position();
    }

    /** Reads a field key; returns {@code fieldNumber << 3 | wireType}. */
    int readTag() {
        long tag = readVarint();
        if (tag <= 0 || tag > 0xFFFF_FFFFL || (tag >>> 3) == 0) {
            throw error("invalid field key " + tag);
        }
        return (int) tag;
    }

    long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!buffer.hasRemaining()) {
                throw error("truncated varint");
            }
            byte b = buffer.get();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw error("varint longer than 10 bytes");
    }

    int readFixed32() {
        require(4, "fixed32");
        return buffer.getInt();
    }

    long readFixed64() {
        require(8, "fixed64");
        return buffer.getLong();
    }

    /** The payload of a length-delimited field, as a slice (no copy). */
    ByteBuffer readBytes() {
        long length = readVarint();
        if (length < 0 || length > buffer.remaining()) {
            throw error("length-delimited field of " + length + " bytes but only " + buffer.remaining() + " remain");
        }
        ByteBuffer slice = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        slice.limit((int) length);
        buffer.position(buffer.position() + (int) length);
        return slice;
    }

    /** A nested message reader over a length-delimited field. */
    ProtoReader readMessage() {
        ByteBuffer bytes = readBytes();
        return new ProtoReader(bytes, source, offset() - bytes.remaining());
    }

    String readString() {
        ByteBuffer bytes = readBytes();
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw error("string field is not valid UTF-8");
        }
    }

    void skip(int wireType) {
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> readFixed64();
            case LENGTH_DELIMITED -> readBytes();
            case FIXED32 -> readFixed32();
            default -> throw error("unsupported wire type " + wireType);
        }
    }

    /** Checks that a field has the wire type its schema requires. */
    void expect(int tag, int wireType, String field) {
        if ((tag & 7) != wireType) {
            throw error(field + " has wire type " + (tag & 7) + ", expected " + wireType);
        }
    }

    private void require(int bytes, String what) {
        if (buffer.remaining() < bytes) {
            throw error("truncated " + what);
        }
    }

    OnnxFormatException error(String message) {
        return new OnnxFormatException(source + ": malformed ONNX protobuf at byte " + offset() + ": " + message);
    }
}
