package io.cqrs.read.query;

import io.cqrs.apikeys.PlainRequestGate;
import io.cqrs.apikeys.Scope;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;
import org.springframework.core.Ordered;
import org.springframework.dao.DataAccessException;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.filter.ServerHttpObservationFilter;
import org.springframework.web.util.UriUtils;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers the common read, {@code GET /read/{key}} for a key that exists, without Spring MVC's dispatch: measured on
 * two cores, handler lookup, argument resolution, content negotiation and return-value handling cost more CPU per read
 * than the read itself (served from the near cache and the in-memory count). Read-your-writes reads too
 * ({@code ?min_version=N}, optionally {@code &wait_ms=M}), the way every client that reads its own write comes.
 *
 * <p>It does exactly what {@link ReadController} does for such a request (same service call, same body written by the
 * application's JSON mapper, same metrics, same {@code uri} tag on {@code http.server.requests}). Every other request
 * passes on to the controller untouched: other query parameters or values the controller would refuse, an unusual path
 * (a {@code ;}, an empty or a multi-segment key), a key that is not found, a version not reached and a database error.
 * For those nothing was counted, so the controller's second look is harmless and its answer (the problem body, the 503
 * with {@code Retry-After}) stays the only one. After a wait, the controller gets the request with {@code wait_ms=0}
 * and the time it arrived here, so that it looks once more instead of waiting again, and times the whole request.
 *
 * <p>It runs ahead of Spring Security's filter chain, and answers only a request whose key {@link PlainRequestGate}
 * admits with the {@code read} scope: anything else, a refusal included, goes through the whole chain to the controller.
 */
@Component
class PlainReadFilter extends OncePerRequestFilter implements Ordered {

    private static final String PREFIX = "/read/";
    private static final String PATTERN = "/read/{key}";
    private static final String MIN_VERSION = "min_version";
    private static final String WAIT_MS = "wait_ms";
    // What the controller accepts: min_version a whole number >= 1, wait_ms one >= 0, both within a long.
    private static final Pattern POSITIVE = Pattern.compile("[1-9][0-9]{0,17}");
    private static final Pattern NOT_NEGATIVE = Pattern.compile("0|[1-9][0-9]{0,17}");

    /**
     * The request attribute that holds when this filter took a request ({@link System#nanoTime()}), set when it hands a
     * read it already waited for on to the controller.
     */
    static final String STARTED = PlainReadFilter.class.getName() + ".started";

    private final ReadService reads;
    private final ReadMetrics metrics;
    private final ObjectWriter json;
    private final PlainRequestGate gate;

    PlainReadFilter(ReadService reads, ReadMetrics metrics, JsonMapper mapper, PlainRequestGate gate) {
        this.reads = reads;
        this.metrics = metrics;
        this.json = mapper.writerFor(ReadController.RecordView.class);
        this.gate = gate;
    }

    /** Ahead of Spring Security's filter chain: {@link PlainRequestGate} checks the key on a shorter way. */
    @Override
    public int getOrder() {
        return gate.order();
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !"GET".equals(request.getMethod()) || !request.getRequestURI().startsWith(PREFIX);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String segment = request.getRequestURI().substring(PREFIX.length());
        if (segment.isEmpty() || segment.indexOf('/') >= 0 || segment.indexOf(';') >= 0) {
            chain.doFilter(request, response);
            return;
        }
        Wait wait = Wait.of(request.getQueryString());
        if (wait == null) {
            chain.doFilter(request, response);
            return;
        }
        long start = System.nanoTime();
        String key;
        try {
            key = UriUtils.decode(segment, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            chain.doFilter(request, response);
            return;
        }
        gate.serve(
                request,
                response,
                chain,
                Scope.READ,
                (admitted, caller) -> answer(key, wait, start, admitted, response, chain));
    }

    private void answer(
            String key,
            Wait wait,
            long start,
            HttpServletRequest request,
            HttpServletResponse response,
            FilterChain chain)
            throws ServletException, IOException {
        byte[] body;
        MDC.put(ReadController.KEY_IN_LOGS, key);
        try {
            var read = reads.read(key, wait.minVersion(), wait.patience());
            body = json.writeValueAsBytes(ReadController.RecordView.from(read));
        } catch (RecordNotFound | VersionNotReached | DataAccessException e) {
            chain.doFilter(wait.minVersion() == null ? request : waited(request, start), response);
            return;
        } catch (KeyTooLong | TooManyWaiters | IllegalArgumentException e) {
            chain.doFilter(request, response);
            return;
        } finally {
            MDC.remove(ReadController.KEY_IN_LOGS);
        }
        metrics.found.record(System.nanoTime() - start);
        ServerHttpObservationFilter.findObservationContext(request)
                .ifPresent(context -> context.setPathPattern(PATTERN));
        response.setStatus(HttpServletResponse.SC_OK);
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    /** The read-your-writes parameters of a read this filter may answer: none, or valid ones. */
    private record Wait(@Nullable Long minVersion, @Nullable Duration patience) {

        private static final Wait NONE = new Wait(null, null);

        /** The parameters in {@code query}, or null when it holds anything else, or a value the controller refuses. */
        static @Nullable Wait of(@Nullable String query) {
            if (query == null) {
                return NONE;
            }
            String minVersion = null;
            String waitMs = null;
            for (String parameter : query.split("&", -1)) {
                int equals = parameter.indexOf('=');
                String name = equals < 0 ? parameter : parameter.substring(0, equals);
                String value = equals < 0 ? "" : parameter.substring(equals + 1);
                if (MIN_VERSION.equals(name)
                        && minVersion == null
                        && POSITIVE.matcher(value).matches()) {
                    minVersion = value;
                } else if (WAIT_MS.equals(name)
                        && waitMs == null
                        && NOT_NEGATIVE.matcher(value).matches()) {
                    waitMs = value;
                } else {
                    return null;
                }
            }
            return new Wait(
                    minVersion == null ? null : Long.parseLong(minVersion),
                    waitMs == null ? null : Duration.ofMillis(Long.parseLong(waitMs)));
        }
    }

    /** {@code request} for the controller after this filter waited for its version already: it must not wait again. */
    private static HttpServletRequest waited(HttpServletRequest request, long start) {
        request.setAttribute(STARTED, start);
        return new HttpServletRequestWrapper(request) {
            @Override
            public @Nullable String getParameter(String name) {
                return WAIT_MS.equals(name) ? "0" : super.getParameter(name);
            }

            @Override
            public String @Nullable [] getParameterValues(String name) {
                return WAIT_MS.equals(name) ? new String[] {"0"} : super.getParameterValues(name);
            }

            @Override
            public Map<String, String[]> getParameterMap() {
                var parameters = new LinkedHashMap<>(super.getParameterMap());
                parameters.put(WAIT_MS, new String[] {"0"});
                return parameters;
            }
        };
    }
}
