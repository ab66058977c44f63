package io.cqrs.projector;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.util.backoff.BackOffExecution;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * Tries again until an attempt works, pausing with exponential backoff between failures, for one run of the consumer
 * loop: {@link #stop()} ends that run's pauses, and the attempt in hand unwinds with {@link Stopped}, leaving whatever
 * it held (a batch's entries) pending in the stream.
 */
final class Retry {

    private final ExponentialBackOff backOff;
    private final Consumer<RuntimeException> failures;
    private final CountDownLatch stop = new CountDownLatch(1);

    Retry(ExponentialBackOff backOff) {
        this(backOff, failure -> {});
    }

    /** @param failures hears of every failure retried, whichever attempt it was (the loop keeps the last one) */
    Retry(ExponentialBackOff backOff, Consumer<RuntimeException> failures) {
        this.backOff = backOff;
        this.failures = failures;
    }

    /** Ends the pauses, now and to come; whatever is retried unwinds with {@link Stopped}. */
    void stop() {
        stop.countDown();
    }

    boolean stopped() {
        return stop.getCount() == 0;
    }

    /**
     * The result of the first {@code attempt} that returns. After a failed one: a failure that {@code propagates}
     * accepts is rethrown; after a stop, {@link Stopped} is thrown; otherwise {@code onFailure} hears of it (to log and
     * count it), and after a pause {@code beforeNextAttempt} runs and the attempt is made again.
     */
    <T extends @Nullable Object> T get(
            Supplier<T> attempt,
            Predicate<RuntimeException> propagates,
            Consumer<RuntimeException> onFailure,
            Runnable beforeNextAttempt) {
        @Nullable BackOffExecution pauses = null;
        while (true) {
            try {
                return attempt.get();
            } catch (Stopped e) {
                throw e;
            } catch (RuntimeException e) {
                if (propagates.test(e)) {
                    throw e;
                }
                if (stopped()) {
                    throw new Stopped();
                }
                failures.accept(e);
                onFailure.accept(e);
                if (pauses == null) {
                    pauses = backOff.start();
                }
                pause(pauses.nextBackOff());
                beforeNextAttempt.run();
            }
        }
    }

    /** {@link #get} for an attempt without a result, with nothing to do between attempts. */
    void run(Runnable attempt, Predicate<RuntimeException> propagates, Consumer<RuntimeException> onFailure) {
        get(
                () -> {
                    attempt.run();
                    return null;
                },
                propagates,
                onFailure,
                () -> {});
    }

    private void pause(long millis) {
        try {
            if (stop.await(millis, TimeUnit.MILLISECONDS)) {
                throw new Stopped();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stopped();
        }
    }

    /** Unwinds an attempt when {@link #stop()} is called; the entries in hand stay pending. */
    static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }
}
