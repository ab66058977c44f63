package io.cqrs.apikeys;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The rate limit per API key ({@link TokenBuckets}): a request without a token is answered 429 with {@code
 * Retry-After} (the whole seconds until the next token) and does nothing. Requests without a key (the public ones) are
 * not limited here.
 */
final class RateLimit extends OncePerRequestFilter {

    private final TokenBuckets buckets;
    private final ProblemAnswers answers;

    RateLimit(TokenBuckets buckets, ProblemAnswers answers) {
        this.buckets = buckets;
        this.answers = answers;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String key = KeyNameInLogs.keyName(request);
        long retryAfter = key == null ? 0 : buckets.take(request, key);
        if (retryAfter == 0) {
            chain.doFilter(request, response);
            return;
        }
        answers.rateLimited(request, response, key, retryAfter);
    }
}
