package io.cqrs.write.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Numbers the commands of one group against the locked key states: versions continue gap-free per key in arrival
 * order, write counts count writes, and a delete of a key without a live record is refused without touching others.
 */
record GroupPlan(List<Step> steps, Map<String, KeyState> finalStates, Map<String, KeyState> previousStates) {

    /** One unit's fate in this group: its numbered commands, or why it writes nothing. */
    record Step(
            PendingUnit unit,
            List<NumberedCommand> commands,
            @Nullable String nothingToDelete) {}

    /**
     * A command with its place in its key's history.
     *
     * @param traceparent the trace context of the request that sent it, or null when that was not traced
     */
    record NumberedCommand(
            Command command,
            long version,
            long writeCount,
            @Nullable String idempotencyKey,
            @Nullable String traceparent) {

        NumberedCommand(Command command, long version, long writeCount, @Nullable String idempotencyKey) {
            this(command, version, writeCount, idempotencyKey, null);
        }
    }

    static GroupPlan of(List<PendingUnit> units, Map<String, KeyState> lockedStates) {
        return of(units, lockedStates, Map.of());
    }

    /**
     * @param floors per key, a version the key's next command must exceed (the read model is ahead of this database
     *     there): that command continues above it, leaving a gap, so that the projector does not discard it as stale
     */
    static GroupPlan of(List<PendingUnit> units, Map<String, KeyState> lockedStates, Map<String, Long> floors) {
        Map<String, KeyState> states = new HashMap<>(lockedStates);
        Map<String, KeyState> previous = new LinkedHashMap<>();
        var steps = new ArrayList<Step>(units.size());
        for (PendingUnit unit : units) {
            String refused = refusedDelete(unit, states);
            if (refused != null) {
                steps.add(new Step(unit, List.of(), refused));
                continue;
            }
            var numbered = new ArrayList<NumberedCommand>(unit.commands().size());
            for (Command command : unit.commands()) {
                KeyState before = states.getOrDefault(command.key(), KeyState.unwritten(command.key()));
                previous.putIfAbsent(command.key(), before);
                KeyState after = before.after(command, floors.getOrDefault(command.key(), 0L));
                states.put(command.key(), after);
                numbered.add(new NumberedCommand(
                        command,
                        after.version(),
                        after.writeCount(),
                        unit.claim() == null ? null : unit.claim().key(),
                        unit.traceparent()));
            }
            steps.add(new Step(unit, numbered, null));
        }
        Map<String, KeyState> finalStates = new LinkedHashMap<>();
        previous.keySet().forEach(key -> finalStates.put(key, states.get(key)));
        return new GroupPlan(steps, finalStates, previous);
    }

    // Deletes come one per request: a request that deletes a key without a live record writes nothing.
    private static @Nullable String refusedDelete(PendingUnit unit, Map<String, KeyState> states) {
        for (Command command : unit.commands()) {
            if (command.op() == Command.Op.DELETE
                    && !states.getOrDefault(command.key(), KeyState.unwritten(command.key()))
                            .exists()) {
                return command.key();
            }
        }
        return null;
    }

    List<NumberedCommand> commands() {
        return steps.stream().flatMap(step -> step.commands().stream()).toList();
    }

    /** Keys that had no state row before this group and get one now. */
    List<KeyState> newKeys() {
        return finalStates.values().stream()
                .filter(state -> previousStates.get(state.key()).version() == 0)
                .toList();
    }

    /** Keys whose existing state row this group moves on. */
    List<KeyState> changedKeys() {
        return finalStates.values().stream()
                .filter(state -> previousStates.get(state.key()).version() > 0)
                .toList();
    }
}
