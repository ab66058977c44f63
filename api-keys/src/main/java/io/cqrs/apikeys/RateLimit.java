package io.cqrs.apikeys;

import io.github.bucket4j.Bucket;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * A token bucket per API key: {@code perSecond} tokens a second, up to {@code burst} saved. A request without a token
 * is answered 429 with {@code Retry-After} (the whole seconds until the next token) and does nothing. One bucket per
 * configured key, so the map cannot grow with input; requests without a key (the public ones) are not limited here.
 */
final class RateLimit extends OncePerRequestFilter {

    private final SecurityProperties.RateLimit settings;
    private final ProblemAnswers answers;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    RateLimit(SecurityProperties.RateLimit settings, ProblemAnswers answers) {
        this.settings = settings;
        this.answers = answers;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String key = KeyNameInLogs.keyName(request);
        if (key == null || !settings.enabled()) {
            chain.doFilter(request, response);
            return;
        }
        var probe = buckets.computeIfAbsent(key, this::bucket).tryConsumeAndReturnRemaining(1);
        if (probe.isConsumed()) {
            chain.doFilter(request, response);
            return;
        }
        long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999L));
        answers.rateLimited(request, response, key, seconds);
    }

    private Bucket bucket(String key) {
        return Bucket.builder()
                .addLimit(limit ->
                        limit.capacity(settings.capacity()).refillGreedy(settings.perSecond(), Duration.ofSeconds(1)))
                .build();
    }
}
