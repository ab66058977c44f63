package io.cqrs.write.command;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** A request body over the configured limit; thrown while reading it, so nothing of it is parsed or written. */
final class PayloadTooLarge extends IOException {

    PayloadTooLarge(long limit) {
        super("The request body is larger than " + limit + " bytes; nothing was written. Send smaller batches.");
    }

    static @Nullable Throwable causes(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PayloadTooLarge) {
                return t;
            }
        }
        return null;
    }
}
