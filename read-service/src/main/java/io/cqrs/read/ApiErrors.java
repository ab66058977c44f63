package io.cqrs.read;

import java.net.URI;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.TypeMismatchException;
import org.springframework.core.MethodParameter;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.dao.TransientDataAccessResourceException;
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
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The one place errors become {@code application/problem+json}. Our own errors are {@code ErrorResponseException}s that
 * carry their problem (status, type, detail, headers), which the base class renders; this class adds only what no
 * exception can say for itself: {@code "success": false} on framework errors too (as the prototype's clients expect),
 * a {@code violations} list on bad parameters, 503 when the read database cannot be reached, and 500 for the rest.
 */
@RestControllerAdvice
class ApiErrors extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    /** One bad request parameter, named as the client wrote it. */
    record Violation(String field, String message) {}

    /**
     * Only a database that cannot be reached (no connection, a connection lost, a query timed out) is worth retrying;
     * any other data access failure (bad SQL, a missing column) is a bug and says so. No request path here opens a
     * transaction, so transaction-start failures cannot reach this advice.
     */
    @ExceptionHandler
    ResponseEntity<ProblemDetail> dataAccess(DataAccessException e) {
        if (!(e instanceof DataAccessResourceFailureException
                || e instanceof TransientDataAccessResourceException
                || e instanceof QueryTimeoutException)) {
            return unexpected(e);
        }
        log.warn("Read database unavailable: {}", e.getMostSpecificCause().getMessage());
        var problem = problem(
                HttpStatus.SERVICE_UNAVAILABLE, "read-db-unavailable", "The read database is unavailable; retry later");
        problem.setTitle("Read database unavailable");
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, "1")
                .body(problem);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("Unexpected error", e);
        return ResponseEntity.internalServerError()
                .body(problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error", "Unexpected error"));
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHandlerMethodValidationException(
            HandlerMethodValidationException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<Violation> violations = e.getParameterValidationResults().stream()
                .flatMap(result -> result.getResolvableErrors().stream()
                        .map(error -> new Violation(
                                parameterName(result.getMethodParameter()), String.valueOf(error.getDefaultMessage()))))
                .toList();
        return badRequest(e, violations, headers, request);
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleTypeMismatch(
            TypeMismatchException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        String name =
                e instanceof MethodArgumentTypeMismatchException argument ? argument.getName() : e.getPropertyName();
        // The only typed parameters, min_version and wait_ms, are whole numbers.
        var violation = new Violation(name == null ? "parameter" : name, "must be a whole number");
        return badRequest(e, List.of(violation), headers, request);
    }

    private ResponseEntity<Object> badRequest(
            Exception e, List<Violation> violations, HttpHeaders headers, WebRequest request) {
        String detail = "Invalid "
                + String.join(
                        ", ",
                        violations.stream()
                                .map(violation -> violation.field() + ": " + violation.message())
                                .toList());
        var problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, detail);
        problem.setProperty("violations", violations);
        return handleExceptionInternal(e, problem, headers, HttpStatus.BAD_REQUEST, request);
    }

    // Framework errors (400, 404, 405...) keep their status and detail, and get our shape.
    @Override
    protected ResponseEntity<Object> createResponseEntity(
            @Nullable Object body, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        if (body instanceof ProblemDetail problem) {
            problem.setProperty("success", false);
        }
        return super.createResponseEntity(body, headers, status, request);
    }

    private static ProblemDetail problem(HttpStatus status, String type, String detail) {
        var problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(URI.create("urn:cqrs:problem:" + type));
        problem.setProperty("success", false);
        return problem;
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
