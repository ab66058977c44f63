package io.cqrs.apikeys;

import io.github.bucket4j.Bucket;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The rate limit's token bucket per API key: {@code perSecond} tokens a second, up to {@code burst} saved. One bucket
 * per configured key, so the map cannot grow with input. Shared by the chain's {@link RateLimit} and the {@link
 * PlainRequestGate}, and a request takes at most one token whichever of the two sees it first.
 */
final class TokenBuckets {

    private static final String CHARGED = TokenBuckets.class.getName() + ".charged";

    private final SecurityProperties.RateLimit settings;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    TokenBuckets(SecurityProperties.RateLimit settings) {
        this.settings = settings;
    }

    /**
     * Takes a token of {@code key}'s bucket for this request, unless it already took one; returns 0 when the request
     * may go on, else the whole seconds until the bucket has a token again (at least 1). A refused request takes
     * nothing.
     */
    long take(HttpServletRequest request, String key) {
        if (!settings.enabled() || request.getAttribute(CHARGED) != null) {
            return 0;
        }
        var probe = buckets.computeIfAbsent(key, this::bucket).tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            return Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999L));
        }
        request.setAttribute(CHARGED, Boolean.TRUE);
        return 0;
    }

    private Bucket bucket(String key) {
        return Bucket.builder()
                .addLimit(limit ->
                        limit.capacity(settings.capacity()).refillGreedy(settings.perSecond(), Duration.ofSeconds(1)))
                .build();
    }
}
