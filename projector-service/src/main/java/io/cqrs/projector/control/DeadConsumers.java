package io.cqrs.projector.control;

import io.cqrs.events.EventStreams;
import io.cqrs.projector.StreamConsumer;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.LazyRedisConnection;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.ScriptOutputType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Removes consumers that left the group for good (old host names, crashed pods) from it: those idle beyond a threshold
 * with nothing pending, never this instance's. Each is checked and removed in one Lua script, so that a consumer that
 * took an entry between the listing and the removal keeps it: {@code XGROUP DELCONSUMER} drops a consumer's pending
 * entries with it, and nobody could claim them again.
 */
@Component
class DeadConsumers {

    private static final Logger log = LoggerFactory.getLogger(DeadConsumers.class);

    // KEYS[1] stream; ARGV group, consumer, least idle ms. 1 when removed, 0 when not (busy, pending, or gone).
    private static final String FORGET_IF_IDLE = """
            local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
            for _, consumer in ipairs(consumers) do
              local fields = {}
              for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
              if fields['name'] == ARGV[2] then
                if fields['pending'] == 0 and fields['idle'] >= tonumber(ARGV[3]) then
                  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
                  return 1
                end
                return 0
              end
            end
            return 0
            """;

    private final StreamConsumer consumer;
    private final LazyRedisConnection redis;
    private final OperatorAudit audit;

    DeadConsumers(StreamConsumer consumer, LazyRedisConnection redis, OperatorAudit audit) {
        this.consumer = consumer;
        this.redis = redis;
        this.audit = audit;
    }

    /** The shortest idle time accepted: a running consumer can be that long between two reads. */
    Duration leastIdle() {
        return consumer.livenessWindow();
    }

    /** Removes the consumers idle longer than {@code idle} with nothing pending, audited; their names. */
    List<String> forget(Duration idle) {
        var me = consumer.status();
        return audit.run("projector.forget-dead", Map.of("idle", idle.toString()), () -> {
            var removed = new ArrayList<String>();
            for (var listed : listed(me.stream(), me.group())) {
                if (listed.name().equals(me.consumer()) || listed.pending() > 0 || listed.idleMs() < idle.toMillis()) {
                    continue;
                }
                Long gone = redis.sync()
                        .eval(
                                FORGET_IF_IDLE,
                                ScriptOutputType.INTEGER,
                                new String[] {me.stream()},
                                me.group(),
                                listed.name(),
                                Long.toString(idle.toMillis()));
                if (gone != null && gone == 1) {
                    redis.sync()
                            .hdel(
                                    EventStreams.controlKey(me.stream()),
                                    StreamConsumer.pauseField(me.group(), listed.name()));
                    removed.add(listed.name());
                    log.info(
                            "Removed consumer {} from group {}: idle {} ms, nothing pending",
                            listed.name(),
                            me.group(),
                            listed.idleMs());
                }
            }
            return List.copyOf(removed);
        });
    }

    private List<ProjectorStatus.Listed> listed(String stream, String group) {
        try {
            return redis.sync().xinfoConsumers(stream, group).stream()
                    .map(ProjectorStatus.Listed::from)
                    .toList();
        } catch (RedisCommandExecutionException e) {
            if (String.valueOf(e.getMessage()).startsWith("NOGROUP")) {
                return List.of();
            }
            throw e;
        }
    }
}
