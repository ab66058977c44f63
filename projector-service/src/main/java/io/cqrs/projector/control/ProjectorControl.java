package io.cqrs.projector.control;

import io.cqrs.events.EventStreams;
import io.cqrs.projector.StreamConsumer;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamInspector;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisCommandExecutionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * What the projector endpoint does for status, pause and resume: reads the group and its consumers from Redis
 * ({@code XINFO GROUPS}, {@code XPENDING}, {@code XINFO CONSUMERS}, the control hash) and this instance's consumer,
 * and pauses or resumes this instance or the whole group, audited.
 */
@Component
class ProjectorControl {

    /** How long a pause call waits for this instance's loop to finish its batch and hold. */
    static final Duration PAUSE_PATIENCE = Duration.ofSeconds(10);

    /** Consumers listed at most: a group has a handful; a name per crashed pod over months stays bounded here. */
    static final int MAX_CONSUMERS = 1000;

    /** Which consumers a pause or resume is for. */
    enum Scope {
        INSTANCE,
        GROUP;

        static Scope parse(String field, String value) {
            return switch (value) {
                case "instance" -> INSTANCE;
                case "group" -> GROUP;
                default ->
                    throw ControlProblem.invalid(
                            field, field + " must be \"instance\" or \"group\", was \"" + value + "\"");
            };
        }

        String text() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final StreamConsumer consumer;
    private final LazyRedisConnection redis;
    private final OperatorAudit audit;

    ProjectorControl(StreamConsumer consumer, LazyRedisConnection redis, OperatorAudit audit) {
        this.consumer = consumer;
        this.redis = redis;
        this.audit = audit;
    }

    ProjectorStatus status() {
        boolean groupPaused = consumer.groupPaused();
        var me = consumer.status();
        var stream = new StreamInspector(redis.sync()).inspect(me.stream());
        var group = stream.group(me.group()).orElse(null);
        var info = group == null
                ? null
                : new ProjectorStatus.GroupInfo(
                        group.lastDeliveredId().toString(),
                        group.pending(),
                        group.firstUnreadId() == null ? Long.valueOf(0) : group.unread(),
                        group.lagSeconds(stream.nowMillis()));
        List<ProjectorStatus.Listed> listed = group == null ? List.of() : listed(me.stream(), me.group());
        var others = listed.stream()
                .map(ProjectorStatus.Listed::name)
                .filter(name -> !name.equals(me.consumer()))
                .toList();
        var pausedAlone = pausedAlone(me.stream(), me.group(), others);
        long alive = consumer.livenessWindow().toMillis();
        var consumers = new ArrayList<ProjectorStatus.ConsumerInfo>(listed.size() + 1);
        boolean meListed = false;
        for (var c : listed) {
            if (c.name().equals(me.consumer())) {
                meListed = true;
                consumers.add(mine(me, c.pending(), c.idleMs()));
            } else {
                String state = groupPaused || pausedAlone.containsKey(c.name())
                        ? "paused"
                        : c.idleMs() <= alive ? "running" : "unknown";
                consumers.add(
                        new ProjectorStatus.ConsumerInfo(c.name(), c.pending(), c.idleMs(), state, null, null, null));
            }
        }
        if (!meListed) {
            consumers.add(mine(me, 0, null));
        }
        return new ProjectorStatus(me.stream(), me.group(), groupPaused, me.consumer(), info, consumers);
    }

    private static ProjectorStatus.ConsumerInfo mine(StreamConsumer.Status me, long pending, @Nullable Long idleMs) {
        String state;
        if (!me.running()) {
            state = "unknown";
        } else if (me.paused()) {
            state = me.parked() ? "paused" : "pausing";
        } else {
            state = "running";
        }
        return new ProjectorStatus.ConsumerInfo(
                me.consumer(),
                pending,
                idleMs,
                state,
                me.lastError(),
                me.lastErrorAt() == null ? null : me.lastErrorAt().toString(),
                me.position());
    }

    /** The group's consumers, the first {@link #MAX_CONSUMERS}; none when the group vanished meanwhile. */
    private List<ProjectorStatus.Listed> listed(String stream, String group) {
        List<Object> infos;
        try {
            infos = redis.sync().xinfoConsumers(stream, group);
        } catch (RedisCommandExecutionException e) {
            if (String.valueOf(e.getMessage()).startsWith("NOGROUP")) {
                return List.of();
            }
            throw e;
        }
        return infos.stream()
                .limit(MAX_CONSUMERS)
                .map(ProjectorStatus.Listed::from)
                .toList();
    }

    /** The other consumers that announced a pause of their own, by name. */
    private Map<String, String> pausedAlone(String stream, String group, List<String> names) {
        var paused = new HashMap<String, String>();
        if (names.isEmpty()) {
            return paused;
        }
        String[] fields = names.stream()
                .map(name -> StreamConsumer.pauseField(group, name))
                .toArray(String[]::new);
        List<KeyValue<String, String>> values = redis.sync().hmget(EventStreams.controlKey(stream), fields);
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i).hasValue()) {
                paused.put(names.get(i), values.get(i).getValue());
            }
        }
        return paused;
    }

    /** Pauses this instance or the whole group, audited; returns once this instance holds (or after the patience). */
    ProjectorStatus pause(Scope scope) {
        audit.run("projector.pause", Map.of("scope", scope.text()), () -> {
            if (scope == Scope.GROUP) {
                consumer.pauseGroup();
            } else {
                consumer.pauseInstance();
            }
            boolean holding = consumer.awaitParked(PAUSE_PATIENCE);
            return "paused " + scope.text() + (holding ? "" : "; this instance still finishing its batch");
        });
        return status();
    }

    /** Resumes this instance or the whole group, audited; the loop wakes at once. */
    ProjectorStatus resume(Scope scope) {
        audit.run("projector.resume", Map.of("scope", scope.text()), () -> {
            if (scope == Scope.GROUP) {
                consumer.resumeGroup();
            } else {
                consumer.resumeInstance();
            }
            return "resumed " + scope.text();
        });
        return status();
    }
}
