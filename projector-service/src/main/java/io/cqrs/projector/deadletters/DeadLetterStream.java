package io.cqrs.projector.deadletters;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.XTrimArgs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * The Redis side of dead letters: reads {@code <stream>:dlq} page by page, moves entries back to the stream, deletes
 * them, and trims the stream to its bounds. Every command touches a bounded number of entries: reads and moves run as
 * small Lua scripts over one page of {@code XRANGE} each (a page is atomic: an entry is in exactly one of the two
 * streams after it), so neither Redis nor this process holds more than a page at a time.
 */
@Component
class DeadLetterStream {

    /** Entries one redrive or purge script takes at a time: each page runs atomically, so Redis is never held long. */
    static final int PAGE = 100;

    /** Entries one counting script reads at a time, and the most a count of reasons reads in all. */
    static final int COUNT_PAGE = 1000;

    static final int COUNT_LIMIT = 100_000;

    /**
     * The most a listing reads to find its entries (a filter that matches little pages on with {@code next}): Redis
     * reads about 3 µs per entry into the script, so one call holds it for about 7 ms at most.
     */
    static final int LIST_SCAN_LIMIT = 2_000;

    /** The most bytes of field names and values one listing with fields carries; longer values are cut. */
    static final int LIST_FIELD_BYTES = 1 << 20;

    /** XTRIM calls per trim at most, each removing up to {@value #TRIM_STEP} entries (whole macro nodes). */
    private static final int MAX_TRIM_CALLS = 1000;

    private static final long TRIM_STEP = 10_000;

    // Lists one page of summaries (and, if asked, the event fields, within a byte budget), skipping entries of other
    // reasons: ARGV start, want, scan limit, reason or '', with fields '1'/'0', byte budget. Returns the last id read,
    // how many were read, whether the end was reached, and the summaries.
    private static final String LIST = """
            local start, want, scanLimit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
            local problem, withFields, budget = ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
            local found, scanned, last, exhausted, bytes = {}, 0, '', 0, 0
            local stopped = false
            while not stopped and scanned < scanLimit do
              local count = math.min(100, scanLimit - scanned)
              local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', count)
              local used = 0
              for _, entry in ipairs(entries) do
                used = used + 1
                scanned = scanned + 1
                last = entry[1]
                local f = entry[2]
                local wanted = problem == ''
                if not wanted then
                  for i = #f - 1, 1, -2 do
                    if f[i] == 'dlq_problem' then
                      wanted = f[i + 1] == problem
                      break
                    end
                  end
                end
                if wanted then
                  local m = {}
                  for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
                  local item = {entry[1], m['dlq_original_id'] or '', m['dlq_reason'] or '', m['dlq_problem'] or '',
                    m['dlq_deliveries'] or '', m['type'] or '', m['key'] or '', 0, {}}
                  if withFields then
                    for i = 1, #f, 2 do
                      if string.sub(f[i], 1, 4) ~= 'dlq_' then
                        local v = f[i + 1]
                        local room = math.max(budget - bytes, 0)
                        if #v > room then
                          v = string.sub(v, 1, room)
                          item[8] = 1
                        end
                        bytes = bytes + #f[i] + #v
                        table.insert(item[9], f[i])
                        table.insert(item[9], v)
                      end
                    end
                  end
                  table.insert(found, item)
                  if #found >= want or bytes >= budget then
                    stopped = true
                    break
                  end
                end
              end
              if used == #entries and #entries < count then
                exhausted = 1
                stopped = true
              end
              start = '(' .. last
            end
            return {last, scanned, exhausted, found}
            """;

    // Counts one page by dlq_problem: ARGV start, count. Returns the last id read, how many were read, then pairs.
    private static final String COUNT = """
            local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
            local counts = {}
            local last = ''
            for _, entry in ipairs(entries) do
              last = entry[1]
              local f = entry[2]
              local problem = '(none)'
              for i = 1, #f, 2 do
                if f[i] == 'dlq_problem' then
                  problem = f[i + 1]
                  break
                end
              end
              counts[problem] = (counts[problem] or 0) + 1
            end
            local out = {last, #entries}
            for problem, n in pairs(counts) do
              table.insert(out, problem)
              table.insert(out, n)
            end
            return out
            """;

    // Moves one page back: for each entry from ARGV start to end (of reason ARGV[4], or any if ''), XADD its fields but
    // the dlq_* ones to KEYS[2] and XDEL it from KEYS[1], in one atomic step. Returns the last id read, how many were
    // read, and the new ids in the stream.
    private static final String REDRIVE = """
            local entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
            local moved = {}
            local last = ''
            for _, entry in ipairs(entries) do
              last = entry[1]
              local f = entry[2]
              local fields = {}
              local problem = ''
              for i = 1, #f, 2 do
                if string.sub(f[i], 1, 4) == 'dlq_' then
                  if f[i] == 'dlq_problem' then problem = f[i + 1] end
                else
                  table.insert(fields, f[i])
                  table.insert(fields, f[i + 1])
                end
              end
              if #fields > 0 and (ARGV[4] == '' or problem == ARGV[4]) then
                table.insert(moved, redis.call('XADD', KEYS[2], '*', unpack(fields)))
                redis.call('XDEL', KEYS[1], entry[1])
              end
            end
            return {last, #entries, moved}
            """;

    // Deletes one page: the entries from ARGV start to end (of reason ARGV[4], or any if ''). Returns the last id read,
    // how many were read, and how many were deleted.
    private static final String PURGE = """
            local entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
            local ids = {}
            local last = ''
            for _, entry in ipairs(entries) do
              last = entry[1]
              local wanted = ARGV[4] == ''
              if not wanted then
                local f = entry[2]
                for i = 1, #f, 2 do
                  if f[i] == 'dlq_problem' and f[i + 1] == ARGV[4] then
                    wanted = true
                    break
                  end
                end
              end
              if wanted then table.insert(ids, entry[1]) end
            end
            local removed = 0
            if #ids > 0 then removed = redis.call('XDEL', KEYS[1], unpack(ids)) end
            return {last, #entries, removed}
            """;

    private final LazyRedisConnection redis;
    private final String stream;
    private final String deadLetters;

    DeadLetterStream(LazyRedisConnection redis, DeadLetterProperties properties) {
        this.redis = redis;
        this.stream = properties.stream();
        this.deadLetters = EventStreams.deadLetterStream(stream);
    }

    /** The event stream the dead letters go back to. */
    String stream() {
        return stream;
    }

    /** The dead-letter stream, {@code <stream>:dlq}. */
    String name() {
        return deadLetters;
    }

    /** The dead letters' summaries from after {@code after} on, oldest first, and where the next page starts. */
    record Page(List<Summary> entries, @Nullable String next) {}

    /**
     * One dead letter as a listing shows it.
     *
     * @param fields the original entry's fields (without the {@code dlq_*} ones), when asked for
     * @param truncated whether some value was cut to keep the listing within its byte budget
     */
    record Summary(
            String id,
            String originalId,
            String reason,
            String problem,
            @Nullable Long deliveries,
            String type,
            String key,
            @Nullable Map<String, String> fields,
            boolean truncated) {}

    Page list(@Nullable String after, int limit, @Nullable String reason, boolean withFields) {
        List<Object> reply = eval(
                LIST,
                new String[] {deadLetters},
                after == null ? "-" : "(" + after,
                Integer.toString(limit),
                Integer.toString(LIST_SCAN_LIMIT),
                reason == null ? "" : reason,
                withFields ? "1" : "0",
                Integer.toString(LIST_FIELD_BYTES));
        String last = (String) reply.get(0);
        boolean exhausted = (Long) reply.get(2) == 1;
        var summaries = new ArrayList<Summary>();
        for (Object item : (List<?>) reply.get(3)) {
            var values = (List<?>) item;
            Map<String, String> fields = null;
            if (withFields) {
                fields = new LinkedHashMap<>();
                var flat = (List<?>) values.get(8);
                for (int i = 0; i + 1 < flat.size(); i += 2) {
                    fields.put((String) flat.get(i), (String) flat.get(i + 1));
                }
            }
            summaries.add(new Summary(
                    (String) values.get(0),
                    (String) values.get(1),
                    (String) values.get(2),
                    (String) values.get(3),
                    number((String) values.get(4)),
                    (String) values.get(5),
                    (String) values.get(6),
                    fields,
                    (Long) values.get(7) == 1));
        }
        // The next page starts after the last entry read (matching or not), unless the stream ended there.
        return new Page(summaries, exhausted || last.isEmpty() ? null : last);
    }

    /**
     * Dead letters by reason ({@code dlq_problem}), counted page by page from the oldest, at most
     * {@value #COUNT_LIMIT} entries.
     *
     * @param exact whether every entry was counted
     */
    record Reasons(long total, Map<String, Long> reasons, long counted, boolean exact) {}

    Reasons reasons() {
        long total = depth();
        var counts = new TreeMap<String, Long>();
        String start = "-";
        long counted = 0;
        boolean exact = false;
        while (counted < COUNT_LIMIT) {
            int count = (int) Math.min(COUNT_PAGE, COUNT_LIMIT - counted);
            List<Object> reply = eval(COUNT, new String[] {deadLetters}, start, Integer.toString(count));
            long read = (Long) reply.get(1);
            counted += read;
            for (int i = 2; i + 1 < reply.size(); i += 2) {
                counts.merge((String) reply.get(i), (Long) reply.get(i + 1), Long::sum);
            }
            if (read < count) {
                exact = true;
                break;
            }
            start = "(" + reply.get(0);
        }
        return new Reasons(total, counts, counted, exact);
    }

    /** What a redrive did: how many entries went back, and the first of their new ids in the stream. */
    record Redriven(long redriven, List<String> firstIds) {

        static final int IDS_KEPT = 100;

        @Override
        public String toString() {
            return "redriven " + redriven + (firstIds.isEmpty() ? "" : ", first new ids " + firstIds.getFirst() + "..");
        }
    }

    /**
     * A Redis failure part-way: the pages before it are done (each page is atomic), the rest is not.
     *
     * @param done entries redriven or purged before the failure
     */
    static final class StoppedEarly extends RuntimeException {
        private final long done;

        StoppedEarly(long done, RedisException cause) {
            super("stopped after " + done + " entries: " + cause, cause);
            this.done = done;
        }

        long done() {
            return done;
        }
    }

    /**
     * Moves the selected entries back to the stream, page by page, each page in one atomic script: the entry's fields
     * without the {@code dlq_*} ones are added with a new id ({@code XADD *}), and the dead letter is deleted. Only
     * entries there when the call starts are moved: one the projector dead-letters again meanwhile gets a newer id, past
     * the end of this call, so a redrive never chases its own tail.
     */
    Redriven redrive(Selection selection) {
        long redriven = 0;
        var firstIds = new ArrayList<String>();
        try {
            var bounds = bounds(selection);
            if (bounds.isEmpty()) {
                return new Redriven(0, List.of());
            }
            String start = bounds.get().start();
            while (true) {
                List<Object> reply = eval(
                        REDRIVE,
                        new String[] {deadLetters, stream},
                        start,
                        bounds.get().end(),
                        Integer.toString(PAGE),
                        bounds.get().reason());
                var moved = (List<?>) reply.get(2);
                redriven += moved.size();
                for (Object id : moved) {
                    if (firstIds.size() < Redriven.IDS_KEPT) {
                        firstIds.add((String) id);
                    }
                }
                if ((Long) reply.get(1) < PAGE) {
                    return new Redriven(redriven, List.copyOf(firstIds));
                }
                start = "(" + reply.get(0);
            }
        } catch (RedisException e) {
            throw new StoppedEarly(redriven, e);
        }
    }

    /** Deletes the selected entries, page by page ({@code XDEL}), or below an id ({@code XTRIM MINID}) by age or all. */
    long purge(Selection selection) {
        long purged = 0;
        try {
            switch (selection) {
                case Selection.OlderThan older -> {
                    long cutoff = nowMillis() - older.age().toMillis();
                    return cutoff <= 0 ? 0 : trimBelow(new StreamEntryId(cutoff, 0));
                }
                case Selection.All all -> {
                    var newest = newest();
                    return newest.isEmpty() ? 0 : trimBelow(newest.get().next());
                }
                default -> {
                    var bounds = bounds(selection);
                    if (bounds.isEmpty()) {
                        return 0;
                    }
                    String start = bounds.get().start();
                    while (true) {
                        List<Object> reply = eval(
                                PURGE,
                                new String[] {deadLetters},
                                start,
                                bounds.get().end(),
                                Integer.toString(PAGE),
                                bounds.get().reason());
                        purged += (Long) reply.get(2);
                        if ((Long) reply.get(1) < PAGE) {
                            return purged;
                        }
                        start = "(" + reply.get(0);
                    }
                }
            }
        } catch (RedisException e) {
            throw new StoppedEarly(purged, e);
        }
    }

    /** Where a selection starts and ends in {@code XRANGE} terms, and the reason it keeps ('' for any). */
    private record Bounds(String start, String end, String reason) {}

    /**
     * The range a selection covers, ending at the newest entry there is now (so that entries dead-lettered during the
     * call are not part of it); empty when the dead-letter stream is.
     */
    private Optional<Bounds> bounds(Selection selection) {
        if (selection instanceof Selection.One one) {
            return Optional.of(new Bounds(one.id(), one.id(), ""));
        }
        var newest = newest();
        if (newest.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(
                switch (selection) {
                    case Selection.Between between ->
                        new Bounds(
                                between.from(),
                                between.last().compareTo(newest.get()) > 0
                                        ? newest.get().toString()
                                        : between.to(),
                                "");
                    case Selection.Reason reason -> new Bounds("-", newest.get().toString(), reason.problem());
                    case Selection.All all -> new Bounds("-", newest.get().toString(), "");
                    case Selection.One one -> new Bounds(one.id(), one.id(), "");
                    case Selection.OlderThan older ->
                        throw new IllegalArgumentException("an age selects by trimming, not by range");
                });
    }

    /**
     * Removes every entry below {@code minId}: {@code XTRIM MINID ~ LIMIT} removes whole macro nodes, at most
     * {@value #TRIM_STEP} entries a call, until none is left whole; then one exact {@code XTRIM MINID} removes the rest
     * (part of one node).
     */
    long trimBelow(StreamEntryId minId) {
        return trim(
                new XTrimArgs().minId(minId.toString()).approximateTrimming().limit(TRIM_STEP),
                new XTrimArgs().minId(minId.toString()).exactTrimming());
    }

    /** Removes the oldest entries beyond {@code maxEntries}, in the same steps as {@link #trimBelow}. */
    long trimTo(long maxEntries) {
        return trim(
                new XTrimArgs().maxlen(maxEntries).approximateTrimming().limit(TRIM_STEP),
                new XTrimArgs().maxlen(maxEntries).exactTrimming());
    }

    private long trim(XTrimArgs approximate, XTrimArgs exact) {
        long removed = 0;
        long step;
        int calls = 0;
        do {
            step = redis.sync().xtrim(deadLetters, approximate);
            removed += step;
        } while (step > 0 && ++calls < MAX_TRIM_CALLS);
        if (step == 0) {
            removed += redis.sync().xtrim(deadLetters, exact);
        }
        return removed;
    }

    /** Entries in the dead-letter stream. */
    long depth() {
        return redis.sync().xlen(deadLetters);
    }

    /** The oldest dead letter's id, if there is one. */
    Optional<StreamEntryId> oldest() {
        return redis.sync().xrange(deadLetters, Range.unbounded(), Limit.from(1)).stream()
                .findFirst()
                .map(entry -> StreamEntryId.parse(entry.getId()));
    }

    /** The newest dead letter's id, if there is one. */
    Optional<StreamEntryId> newest() {
        return redis.sync().xrevrange(deadLetters, Range.unbounded(), Limit.from(1)).stream()
                .findFirst()
                .map(entry -> StreamEntryId.parse(entry.getId()));
    }

    /** Redis' clock, in which the stream ids' milliseconds are. */
    long nowMillis() {
        List<String> time = redis.sync().time();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    private List<Object> eval(String script, String[] keys, String... arguments) {
        return redis.sync().eval(script, ScriptOutputType.MULTI, keys, arguments);
    }

    private static @Nullable Long number(String text) {
        try {
            return text.isEmpty() ? null : Long.parseLong(text);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
