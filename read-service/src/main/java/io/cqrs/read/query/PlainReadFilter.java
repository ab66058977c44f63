package io.cqrs.read.query;

import io.cqrs.apikeys.PlainRequestGate;
import io.cqrs.apikeys.Scope;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * Answers the common read, {@code GET /read/{key}} without query parameters for a key that exists, without Spring
 * MVC's dispatch: measured on two cores, handler lookup, argument resolution, content negotiation and return-value
 * handling cost more CPU per read than the read itself (served from the near cache and the in-memory count).
 *
 * <p>It does exactly what {@link ReadController} does for such a request (same service call, same body written by the
 * application's JSON mapper, same metrics, same {@code uri} tag on {@code http.server.requests}). Every other request
 * passes on to the controller untouched: query parameters, an unusual path (a {@code ;}, an empty or a multi-segment
 * key), a key that is not found and a database error. For the last two nothing was counted, so the controller's second
 * lookup is harmless and its answer (the problem body, the 503 with {@code Retry-After}) stays the only one.
 *
 * <p>It runs ahead of Spring Security's filter chain, and answers only a request whose key {@link PlainRequestGate}
 * admits with the {@code read} scope: anything else, a refusal included, goes through the whole chain to the controller.
 */
@Component
class PlainReadFilter extends OncePerRequestFilter implements Ordered {

    private static final String PREFIX = "/read/";
    private static final String PATTERN = "/read/{key}";

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
        return !"GET".equals(request.getMethod())
                || request.getQueryString() != null
                || !request.getRequestURI().startsWith(PREFIX);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String segment = request.getRequestURI().substring(PREFIX.length());
        if (segment.isEmpty() || segment.indexOf('/') >= 0 || segment.indexOf(';') >= 0) {
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
                (admitted, caller) -> answer(key, start, admitted, response, chain));
    }

    private void answer(
            String key, long start, HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        byte[] body;
        MDC.put(ReadController.KEY_IN_LOGS, key);
        try {
            var read = reads.read(key, null, null);
            body = json.writeValueAsBytes(ReadController.RecordView.from(read));
        } catch (RecordNotFound | KeyTooLong | DataAccessException | IllegalArgumentException e) {
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
}
