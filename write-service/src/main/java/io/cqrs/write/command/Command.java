package io.cqrs.write.command;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** One validated change a client asked for: write a value to a key, or delete the key. */
record Command(Op op, String key, @Nullable String value) {

    enum Op {
        WRITE,
        DELETE;

        /** The spelling in the commands table and in metric tags. */
        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static Command write(String key, String value) {
        return new Command(Op.WRITE, key, value);
    }

    static Command delete(String key) {
        return new Command(Op.DELETE, key, null);
    }
}
