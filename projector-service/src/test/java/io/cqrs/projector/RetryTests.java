package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.util.backoff.ExponentialBackOff;

class RetryTests {

    final Retry retry = new Retry(new ExponentialBackOff(1, 2.0));
    final List<String> calls = new ArrayList<>();

    String failTwice() {
        calls.add("attempt");
        if (calls.stream().filter("attempt"::equals).count() <= 2) {
            throw new IllegalStateException("down");
        }
        return "done";
    }

    @Test
    void triesAgainUntilAnAttemptWorks() {
        String result = retry.get(
                this::failTwice, e -> false, e -> calls.add("failed: " + e.getMessage()), () -> calls.add("between"));

        assertThat(result).isEqualTo("done");
        assertThat(calls)
                .containsExactly("attempt", "failed: down", "between", "attempt", "failed: down", "between", "attempt");
    }

    @Test
    void rethrowsAFailureThatPropagatesWithoutTryingAgain() {
        var gone = new IllegalArgumentException("gone");

        assertThatThrownBy(() -> retry.run(
                        () -> {
                            calls.add("attempt");
                            throw gone;
                        },
                        IllegalArgumentException.class::isInstance,
                        e -> calls.add("failed")))
                .isSameAs(gone);
        assertThat(calls).containsExactly("attempt");
    }

    @Test
    void unwindsWhenStoppedDuringAPause() {
        assertThatThrownBy(() -> retry.run(this::failTwice, e -> false, e -> retry.stop()))
                .isInstanceOf(Retry.Stopped.class);
        assertThat(calls).containsExactly("attempt");
        assertThat(retry.stopped()).isTrue();
    }

    @Test
    void neitherReportsNorRetriesAFailureAfterAStop() {
        retry.stop();

        assertThatThrownBy(() -> retry.run(this::failTwice, e -> false, e -> calls.add("failed")))
                .isInstanceOf(Retry.Stopped.class);
        assertThat(calls).containsExactly("attempt");
    }

    @Test
    void letsAStopInANestedRetryThrough() {
        var inner = new Retry(new ExponentialBackOff(1, 2.0));
        inner.stop();

        assertThatThrownBy(() -> retry.run(
                        () -> inner.run(this::failTwice, e -> false, e -> {}), e -> false, e -> calls.add("failed")))
                .isInstanceOf(Retry.Stopped.class);
        assertThat(calls).containsExactly("attempt");
    }
}
