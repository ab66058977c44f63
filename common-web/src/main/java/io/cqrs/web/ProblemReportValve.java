package io.cqrs.web;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.ObjectWriter;

/**
 * Tomcat's last word on an error, as a problem instead of its HTML page. It answers what Tomcat refuses before any
 * servlet runs (a request line it cannot parse, an invalid percent-encoding, headers beyond the size limit, an HTTP
 * version or transfer coding it does not support) and any error response still without a body when the request leaves
 * the host; everything Spring MVC or the error page wrote is left alone.
 */
final class ProblemReportValve extends ErrorReportValve {

    private final ObjectWriter json;

    ProblemReportValve(ObjectWriter json) {
        this.json = json;
    }

    @Override
    protected void report(Request request, Response response, @Nullable Throwable throwable) {
        // As ErrorReportValve decides: an error, nothing written yet, not reported by another valve, I/O still allowed.
        int status = response.getStatus();
        if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        var ioAllowed = new AtomicBoolean();
        response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
        if (!ioAllowed.get()) {
            return;
        }
        // No instance: the request target may be what Tomcat could not parse.
        byte[] body = ContainerProblem.of(status, null).toJson(json);
        try {
            response.setContentType(ContainerProblem.MEDIA_TYPE);
            // The reporter works whether or not the application took the response's writer or stream before failing;
            // the body is ASCII, so its charset does not matter.
            PrintWriter writer = response.getReporter();
            if (writer != null) {
                writer.write(new String(body, StandardCharsets.US_ASCII));
                response.finishResponse();
            }
        } catch (IOException | IllegalStateException e) {
            // The client is gone or the response was committed after all: there is nobody left to tell.
        }
    }
}
