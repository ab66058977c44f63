package io.cqrs.write.command;

import java.net.URI;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.jdbc.UncategorizedSQLException;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error as an RFC 9457 problem body with a stable {@code type}, a readable {@code detail} and, as the
 * prototype's clients expect, {@code "success": false}. Our exceptions carry their own problem
 * ({@link ErrorResponseException}) and Spring renders them; framework errors (415, 405, malformed JSON) get our shape
 * here. A write database that cannot be reached is a 503 with {@code Retry-After}; anything else is a 500 whose cause
 * is logged, never sent.
 */
@RestControllerAdvice
class ApiErrors extends ResponseEntityExceptionHandler {

    static final String UNAVAILABLE = "write-store-unavailable";
    static final String RETRY_AFTER_SECONDS = "1";
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    /** The problem body of this API: {@code urn:cqrs:problem:<type>}, the detail and {@code "success": false}. */
    static ProblemDetail problem(HttpStatus status, String type, String detail) {
        var problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(URI.create("urn:cqrs:problem:" + type));
        problem.setProperty("success", false);
        return problem;
    }

    @ExceptionHandler({
        DataAccessResourceFailureException.class,
        QueryTimeoutException.class,
        CannotCreateTransactionException.class,
        TransientDataAccessResourceException.class
    })
    @Nullable
    ResponseEntity<Object> unavailable(Exception e, WebRequest request) {
        log.warn("Write database unavailable: {}", e.getMessage());
        return retryLater(e, "The write database cannot be reached right now; retry later", request);
    }

    /**
     * A key locked longer than {@code lock_timeout} by another transaction (a stuck one, an operator's): the statement
     * failed and the transaction rolled back, so nothing was written. PostgreSQL's SQLState 55P03 reaches us
     * untranslated; any other untranslated error is a bug.
     */
    @ExceptionHandler
    @Nullable
    ResponseEntity<Object> untranslated(UncategorizedSQLException e, WebRequest request) {
        return LOCK_NOT_AVAILABLE.equals(
                        e.getSQLException() == null ? null : e.getSQLException().getSQLState())
                ? lockTimedOut(e, request)
                : unexpected(e, request);
    }

    private @Nullable ResponseEntity<Object> lockTimedOut(Exception e, WebRequest request) {
        log.warn("Write refused, a key stayed locked: {}", e.getMessage());
        return retryLater(
                e,
                "A key of this request stayed locked by another transaction; nothing was written, retry later",
                request);
    }

    /** A 503 {@value #UNAVAILABLE} with {@code Retry-After}. */
    private @Nullable ResponseEntity<Object> retryLater(Exception e, String detail, WebRequest request) {
        var headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS);
        var problem = problem(HttpStatus.SERVICE_UNAVAILABLE, UNAVAILABLE, detail);
        return handleExceptionInternal(e, problem, headers, HttpStatus.SERVICE_UNAVAILABLE, request);
    }

    /** A commit or rollback that failed because the connection went away is an outage; otherwise a bug. */
    @ExceptionHandler
    @Nullable
    ResponseEntity<Object> transactionFailed(TransactionSystemException e, WebRequest request) {
        return lostConnection(e) ? unavailable(e, request) : unexpected(e, request);
    }

    @ExceptionHandler
    @Nullable
    ResponseEntity<Object> unexpected(Exception e, WebRequest request) {
        log.error("Unexpected error", e);
        var problem = problem(
                HttpStatus.INTERNAL_SERVER_ERROR, "internal-error", "An unexpected error occurred; it has been logged");
        return handleExceptionInternal(e, problem, new HttpHeaders(), HttpStatus.INTERNAL_SERVER_ERROR, request);
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHttpMessageNotReadable(
            HttpMessageNotReadableException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        var tooLarge = PayloadTooLarge.causes(e);
        if (tooLarge != null) {
            return handleExceptionInternal(e, tooLarge.getBody(), headers, tooLarge.getStatusCode(), request);
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

    private static boolean lostConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException
                    || t instanceof SQLRecoverableException
                    || t instanceof SQLNonTransientConnectionException
                    || (t instanceof SQLException sql
                            && sql.getSQLState() != null
                            && sql.getSQLState().startsWith("08"))) {
                return true;
            }
        }
        return false;
    }
}
