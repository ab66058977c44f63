package io.cqrs.write.command;

import org.springframework.http.HttpStatus;
import org.springframework.web.ErrorResponseException;

/** A delete for a key that has no live record: never written, or already deleted. A 404. */
final class RecordNotFound extends ErrorResponseException {

    RecordNotFound(String key) {
        super(
                HttpStatus.NOT_FOUND,
                ApiErrors.problem(
                        HttpStatus.NOT_FOUND,
                        "record-not-found",
                        "No record with key '" + key + "' to delete: it was never written or is already deleted"),
                null);
    }
}
