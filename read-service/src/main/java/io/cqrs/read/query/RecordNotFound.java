package io.cqrs.read.query;

/** No live record under this key: never written, deleted, or not projected yet. */
public class RecordNotFound extends RuntimeException {

    private final String key;

    RecordNotFound(String key) {
        super(null, null, false, false);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
