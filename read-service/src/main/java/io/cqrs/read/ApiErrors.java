package io.cqrs.read;

import io.cqrs.read.query.RecordNotFound;
import io.cqrs.read.query.VersionNotReached;
import java.net.URI;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.MethodParameter;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The one place errors become {@code application/problem+json}. Every problem body also carries
 * {@code "success": false}, as the prototype's clients expect; framework errors (400, 404, 405) get the same shape.
 */
@RestControllerAdvice
class ApiErrors extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    @ExceptionHandler
    ProblemDetail notFound(RecordNotFound e) {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.NOT_FOUND, "Key '" + e.key() + "' not found (it may not be projected yet)");
        problem.setType(URI.create("urn:cqrs:problem:record-not-found"));
        problem.setTitle("Record not found");
        problem.setProperty("success", false);
        problem.setProperty("key", e.key());
        return problem;
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> versionNotReached(VersionNotReached e) {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.SERVICE_UNAVAILABLE,
                "Key '" + e.key() + "' has not reached version " + e.minVersion() + " yet (read model has "
                        + (e.currentVersion() == null ? "no version" : "version " + e.currentVersion())
                        + "); retry later");
        problem.setType(URI.create("urn:cqrs:problem:version-not-reached"));
        problem.setTitle("Version not projected yet");
        problem.setProperty("success", false);
        problem.setProperty("key", e.key());
        problem.setProperty("min_version", e.minVersion());
        problem.setProperty("version", e.currentVersion());
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, String.valueOf(e.retryAfterSeconds()))
                .body(problem);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> databaseUnavailable(DataAccessException e) {
        log.warn("Read database unavailable: {}", e.getMostSpecificCause().getMessage());
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.SERVICE_UNAVAILABLE, "The read database is unavailable; retry later");
        problem.setType(URI.create("urn:cqrs:problem:read-db-unavailable"));
        problem.setTitle("Read database unavailable");
        problem.setProperty("success", false);
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, "1")
                .body(problem);
    }

    @ExceptionHandler
    ProblemDetail unexpected(RuntimeException e) {
        log.error("Unexpected error", e);
        var problem = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR, "Unexpected error");
        problem.setProperty("success", false);
        return problem;
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHandlerMethodValidationException(
            HandlerMethodValidationException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<String> violations = e.getParameterValidationResults().stream()
                .flatMap(result -> result.getResolvableErrors().stream()
                        .map(error -> parameterName(result.getMethodParameter()) + ": " + error.getDefaultMessage()))
                .toList();
        var problem =
                ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "Invalid " + String.join(", ", violations));
        problem.setProperty("violations", violations);
        return handleExceptionInternal(e, problem, headers, HttpStatus.BAD_REQUEST, request);
    }

    @Override
    protected ResponseEntity<Object> handleExceptionInternal(
            Exception e, @Nullable Object body, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        ResponseEntity<Object> response = super.handleExceptionInternal(e, body, headers, status, request);
        if (response != null && response.getBody() instanceof ProblemDetail problem) {
            problem.setProperty("success", false);
        }
        return response;
    }

    /** The parameter as the client wrote it: the query parameter's name, not the Java one. */
    private static String parameterName(MethodParameter parameter) {
        RequestParam param = parameter.getParameterAnnotation(RequestParam.class);
        if (param != null && !param.name().isEmpty()) {
            return param.name();
        }
        String name = parameter.getParameterName();
        return name == null ? "parameter" : name;
    }
}
