package io.cqrs.write.command;

/** A delete for a key that has no live record: never written, or already deleted. */
final class RecordNotFound extends RuntimeException {

    private final String key;

    RecordNotFound(String key) {
        super("No record with key " + key);
        this.key = key;
    }

    String key() {
        return key;
    }
}
