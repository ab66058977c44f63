package io.cqrs.write.reconcile;

/** What one side holds for a key: the fields both databases have and the reconciliation compares. */
record KeyRow(String key, long version, long writeCount, boolean deleted) {

    boolean sameStateAs(KeyRow other) {
        return version == other.version && writeCount == other.writeCount && deleted == other.deleted;
    }
}
