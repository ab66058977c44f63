package io.cqrs.write.command;

import java.net.URI;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error as an RFC 9457 problem body with a stable {@code type}, a readable {@code detail} and, as the
 * prototype's clients expect, {@code "success": false}. Framework errors (415, 405, malformed JSON) get the same shape.
 */
@RestControllerAdvice
class ApiErrors extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);
    static final String RETRY_AFTER_SECONDS = "1";

    @ExceptionHandler
    ResponseEntity<ProblemDetail> invalid(InvalidCommand e) {
        var first = e.violations().getFirst();
        var problem = problem(
                HttpStatus.BAD_REQUEST,
                "invalid-command",
                "Invalid command: " + first.field() + " " + first.message()
                        + (e.violations().size() > 1
                                ? " (and " + (e.violations().size() - 1) + " more)"
                                : "")
                        + "; nothing was written");
        problem.setProperty("violations", e.violations());
        return ResponseEntity.badRequest().body(problem);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> notFound(RecordNotFound e) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND)
                .body(problem(
                        HttpStatus.NOT_FOUND,
                        "record-not-found",
                        "No record with key '" + e.key() + "' to delete: it was never written or is already deleted"));
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> reused(IdempotencyKeyReused e) {
        return ResponseEntity.status(HttpStatus.UNPROCESSABLE_CONTENT)
                .body(problem(HttpStatus.UNPROCESSABLE_CONTENT, "idempotency-key-reused", e.getMessage()));
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unavailable(WriteStoreUnavailable e) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                .body(problem(
                        HttpStatus.SERVICE_UNAVAILABLE,
                        "write-store-unavailable",
                        "Cannot accept writes right now (" + e.getMessage() + "); nothing was written, retry later"));
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> tooLarge(PayloadTooLarge e) {
        return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
                .body(problem(HttpStatus.CONTENT_TOO_LARGE, "payload-too-large", e.getMessage()));
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("Unexpected error", e);
        return ResponseEntity.internalServerError()
                .body(problem(
                        HttpStatus.INTERNAL_SERVER_ERROR,
                        "internal-error",
                        "An unexpected error occurred; it has been logged"));
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHttpMessageNotReadable(
            HttpMessageNotReadableException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        if (PayloadTooLarge.causes(e) instanceof PayloadTooLarge tooLarge) {
            return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
                    .body(tooLarge(tooLarge).getBody());
        }
        var problem = problem(
                HttpStatus.BAD_REQUEST,
                "malformed-request",
                "The request body is not the JSON this endpoint expects; nothing was written");
        return handleExceptionInternal(e, problem, headers, HttpStatus.BAD_REQUEST, request);
    }

    // Framework errors (405, 415, 406...) keep their status and detail, and get our shape.
    @Override
    protected ResponseEntity<Object> createResponseEntity(
            @Nullable Object body, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        if (body instanceof ProblemDetail problem) {
            problem.setProperty("success", false);
        }
        return super.createResponseEntity(body, headers, status, request);
    }

    static ProblemDetail problem(HttpStatus status, String type, String detail) {
        var problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(URI.create("urn:cqrs:problem:" + type));
        problem.setProperty("success", false);
        return problem;
    }
}
