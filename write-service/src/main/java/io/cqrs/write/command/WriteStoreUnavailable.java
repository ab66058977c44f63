package io.cqrs.write.command;

/** The write database cannot take commands right now; nothing was written and the client should retry. */
final class WriteStoreUnavailable extends RuntimeException {

    WriteStoreUnavailable(String message, Throwable cause) {
        super(message, cause);
    }

    WriteStoreUnavailable(String message) {
        super(message);
    }
}
