package io.cqrs.write.command;

import io.cqrs.write.command.CommandService.Written;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The answer to a batch: one result per command, in request order. */
record BatchResponse(boolean success, int count, List<Item> results, String message) {

    record Item(
            String key,
            long commandId,
            long version,
            long writeCount,
            @Nullable String eventId) {}

    static BatchResponse of(Written written) {
        var items = written.commands().stream()
                .map(c -> new Item(c.command().key(), c.id(), c.version(), c.writeCount(), c.eventId()))
                .toList();
        long queued = items.stream().filter(i -> i.eventId() == null).count();
        return new BatchResponse(
                true,
                items.size(),
                items,
                items.size() + " values written in one transaction"
                        + (queued == 0
                                ? "; events published"
                                : "; " + queued + " events queued, they will be published"));
    }
}
