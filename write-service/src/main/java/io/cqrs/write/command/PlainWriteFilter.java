package io.cqrs.write.command;

import io.cqrs.apikeys.PlainRequestGate;
import io.cqrs.apikeys.Scope;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.core.Ordered;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.filter.ServerHttpObservationFilter;
import org.springframework.web.servlet.HandlerExceptionResolver;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers the common write, {@code POST} or {@code PUT /write} with a JSON body and no {@code Idempotency-Key}, without
 * Spring MVC's dispatch: measured at steady state on two cores, handler lookup, argument resolution, content
 * negotiation and return-value handling took about a third of the write service's CPU per write, more than the group
 * commit itself.
 *
 * <p>It does what {@link WriteController#write} does for such a request, with the same rules, the same service call
 * (made exactly once), the same body written by the application's JSON mapper and the same {@code uri} tag on {@code
 * http.server.requests}. Its errors are answered by the same {@link ApiErrors}, through Spring MVC's exception
 * resolver. A body that is not JSON of the expected shape passes on to the controller, replayed from memory, so that it
 * gets exactly the controller's 400; so does anything unusual: another content type, charset or {@code Accept}, a chunked or
 * oversized body, an {@code Idempotency-Key}, a query string.
 *
 * <p>It runs ahead of Spring Security's filter chain, and answers only a request whose key {@link PlainRequestGate}
 * admits with the {@code write} scope: anything else, a refusal included, goes through the whole chain to the
 * controller.
 */
@Component
class PlainWriteFilter extends OncePerRequestFilter implements Ordered {

    private static final String PATH = "/write";

    private final CommandRules rules;
    private final ObjectProvider<CommandService> commandService;
    private @Nullable CommandService commands;
    private final HandlerExceptionResolver errors;
    private final ObjectReader requests;
    private final ObjectWriter responses;
    private final long maxBodyBytes;
    private final PlainRequestGate gate;

    PlainWriteFilter(
            CommandRules rules,
            ObjectProvider<CommandService> commands,
            @Qualifier("handlerExceptionResolver") HandlerExceptionResolver errors,
            JsonMapper mapper,
            WriteProperties properties,
            PlainRequestGate gate) {
        this.rules = rules;
        // Filters are made while the web server starts, before the rest of the context (and before properties that
        // are registered late, as tests register theirs): the service and what it holds are taken at the first write.
        this.commandService = commands;
        this.errors = errors;
        this.requests = mapper.readerFor(WriteController.WriteRequest.class);
        this.responses = mapper.writerFor(WriteResponse.class);
        this.maxBodyBytes = properties.maxBodySize().toBytes();
        this.gate = gate;
    }

    /** Ahead of Spring Security's filter chain: {@link PlainRequestGate} checks the key on a shorter way. */
    @Override
    public int getOrder() {
        return gate.order();
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String method = request.getMethod();
        long length = request.getContentLengthLong();
        return !("POST".equals(method) || "PUT".equals(method))
                || !PATH.equals(request.getRequestURI())
                || request.getQueryString() != null
                || length <= 0
                || length > maxBodyBytes
                || request.getHeader(WriteController.IDEMPOTENCY_KEY) != null
                || !isJson(request.getContentType())
                || !acceptsJson(request.getHeader("Accept"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        gate.serve(
                request, response, chain, Scope.WRITE, (admitted, caller) -> answer(admitted, caller, response, chain));
    }

    private void answer(HttpServletRequest request, String caller, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        byte[] body = request.getInputStream().readNBytes((int) request.getContentLengthLong());
        WriteController.WriteRequest parsed;
        try {
            parsed = requests.readValue(body);
        } catch (JacksonException e) {
            chain.doFilter(new ReplayedBody(request, body), response);
            return;
        }
        ServerHttpObservationFilter.findObservationContext(request).ifPresent(context -> context.setPathPattern(PATH));
        WriteResponse answer;
        try {
            Command command = rules.write(parsed.key(), parsed.value(), null);
            // The key in every log line of the rest of this request, an error's too (structured logs: a field).
            MDC.put(WriteController.KEY_IN_LOGS, command.key());
            var written = commands().execute(List.of(command), null, caller);
            answer = WriteResponse.of(written.single(), "Value written");
        } catch (RuntimeException e) {
            if (errors.resolveException(request, response, null, e) == null) {
                throw e;
            }
            return;
        } finally {
            MDC.remove(WriteController.KEY_IN_LOGS);
        }
        byte[] json = responses.writeValueAsBytes(answer);
        response.setStatus(HttpServletResponse.SC_OK);
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.setContentLength(json.length);
        response.getOutputStream().write(json);
    }

    private CommandService commands() {
        var service = commands;
        if (service == null) {
            service = commandService.getObject();
            commands = service;
        }
        return service;
    }

    private static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        try {
            var type = MediaType.parseMediaType(contentType);
            return MediaType.APPLICATION_JSON.equalsTypeAndSubtype(type)
                    && (type.getCharset() == null || StandardCharsets.UTF_8.equals(type.getCharset()));
        } catch (InvalidMediaTypeException e) {
            return false;
        }
    }

    private static boolean acceptsJson(String accept) {
        return accept == null || "*/*".equals(accept) || MediaType.APPLICATION_JSON_VALUE.equals(accept);
    }

    /** The request as the controller expects it, its body read again from the bytes this filter already read. */
    private static final class ReplayedBody extends HttpServletRequestWrapper {

        private final ByteArrayInputStream body;

        ReplayedBody(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = new ByteArrayInputStream(body);
        }

        @Override
        public ServletInputStream getInputStream() {
            return new ServletInputStream() {
                @Override
                public int read() {
                    return body.read();
                }

                @Override
                public int read(byte[] buffer, int offset, int length) {
                    return body.read(buffer, offset, length);
                }

                @Override
                public boolean isFinished() {
                    return body.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException("the body was already read");
                }
            };
        }
    }
}
