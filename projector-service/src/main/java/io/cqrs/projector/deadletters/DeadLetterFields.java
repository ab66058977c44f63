package io.cqrs.projector.deadletters;

/**
 * The fields a dead-letter entry adds to the original entry's fields in {@code <stream>:dlq}; all start with
 * {@value #PREFIX}, so they never collide with the event's fields, and a redrive drops exactly those.
 */
public final class DeadLetterFields {

    public static final String PREFIX = "dlq_";
    public static final String REASON = "dlq_reason";
    public static final String PROBLEM = "dlq_problem";
    public static final String FIELD = "dlq_field";
    public static final String ORIGINAL_ID = "dlq_original_id";
    public static final String DELIVERIES = "dlq_deliveries";
    public static final String CONSUMER = "dlq_consumer";

    private DeadLetterFields() {}
}
