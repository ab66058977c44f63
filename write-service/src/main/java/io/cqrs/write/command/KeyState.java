package io.cqrs.write.command;

/** Where a key stands: its latest version over all commands, its number of writes, and whether it is deleted. */
record KeyState(String key, long version, long writeCount, boolean deleted) {

    static KeyState unwritten(String key) {
        return new KeyState(key, 0, 0, false);
    }

    boolean exists() {
        return version > 0 && !deleted;
    }

    /** The state after {@code command}, whose version also exceeds {@code floor} (see {@link GroupPlan#of}). */
    KeyState after(Command command, long floor) {
        long next = Math.max(version, floor) + 1;
        return switch (command.op()) {
            case WRITE -> new KeyState(key, next, writeCount + 1, false);
            case DELETE -> new KeyState(key, next, writeCount, true);
        };
    }
}
