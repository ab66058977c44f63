package io.cqrs.projector.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The group and its consumers as {@code GET /actuator/projector} shows them. Fields that are unknown are null, never
 * left out: {@code lag} when Redis cannot count the unread entries, a consumer's {@code position} and
 * {@code last_error} for other instances than this one.
 *
 * @param groupPaused whether the whole group is paused (the control hash's field, read now)
 * @param thisConsumer this instance's consumer name
 * @param groupInfo null when the group does not exist (yet)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
record ProjectorStatus(
        String stream,
        String group,
        @JsonProperty("group_paused") boolean groupPaused,
        @JsonProperty("this_consumer") String thisConsumer,
        @JsonProperty("group_info") @Nullable GroupInfo groupInfo,
        List<ConsumerInfo> consumers) {

    ProjectorStatus {
        consumers = List.copyOf(consumers);
    }

    /**
     * @param lastDeliveredId the last entry handed to some consumer of the group
     * @param pending entries delivered, not yet acknowledged
     * @param lag entries not yet delivered ({@code XINFO GROUPS} {@code lag}); null when Redis cannot tell
     * @param lagSeconds age of the oldest entry not finished, 0 when nothing is pending or unread (Redis' clock)
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record GroupInfo(
            @JsonProperty("last_delivered_id") String lastDeliveredId,
            long pending,
            @Nullable Long lag,
            @JsonProperty("lag_seconds") double lagSeconds) {}

    /**
     * @param idleMs since the consumer last read or claimed ({@code XINFO CONSUMERS} {@code idle}); null for this
     *     instance's consumer when it has not read yet
     * @param state {@code running}, {@code pausing} (this instance: finishing its batch before it holds),
     *     {@code paused} or {@code unknown} (another instance that has not read for longer than a running one would)
     * @param position the last entry it applied (this instance only)
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record ConsumerInfo(
            String name,
            long pending,
            @JsonProperty("idle_ms") @Nullable Long idleMs,
            String state,
            @JsonProperty("last_error") @Nullable String lastError,
            @JsonProperty("last_error_at") @Nullable String lastErrorAt,
            @Nullable String position) {}

    /** One consumer of {@code XINFO CONSUMERS}, a flat list of names and values. */
    record Listed(String name, long pending, long idleMs) {

        static Listed from(Object info) {
            Map<String, Object> fields = fields(info);
            return new Listed(text(fields.get("name")), number(fields.get("pending")), number(fields.get("idle")));
        }
    }

    // XINFO replies arrive as flat key/value lists whose values are strings, numbers, nested lists or nulls.
    static Map<String, Object> fields(Object info) {
        List<?> flat = (List<?>) info;
        var fields = new HashMap<String, Object>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            fields.put(text(flat.get(i)), flat.get(i + 1));
        }
        return fields;
    }

    static String text(@Nullable Object value) {
        if (value instanceof ByteBuffer buffer) {
            return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
        }
        if (value instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return String.valueOf(value);
    }

    static long number(@Nullable Object value) {
        return value instanceof Number n ? n.longValue() : Long.parseLong(text(value));
    }
}
