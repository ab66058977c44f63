package io.cqrs.chaos;

import io.cqrs.testsupport.ServiceProcess;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The highest heap use each service showed while a case ran, sampled every 100 ms from its actuator by a thread of
 * its own: {@code jvm.memory.used} (area heap: garbage included, so with the serial collector it climbs towards the
 * maximum before each collection) and {@code jvm.gc.live.data.size} (what the old generation still held after the
 * latest collection: what the input really kept). A sample misses peaks shorter than 100 ms, so both are lower
 * bounds; the bound that matters, -Xmx256m, is the services' own.
 */
final class HeapPeaks implements AutoCloseable {

    private static final Pattern VALUE = Pattern.compile("\"statistic\":\"VALUE\",\"value\":([0-9.Ee+]+)");

    private final Map<String, ServiceProcess> services;
    private final Map<String, Long> used = new ConcurrentHashMap<>();
    private final Map<String, Long> live = new ConcurrentHashMap<>();
    private final Thread sampler;
    private volatile boolean running = true;

    HeapPeaks(Map<String, ServiceProcess> services) {
        this.services = new LinkedHashMap<>(services);
        this.sampler = Thread.ofVirtual().start(this::sample);
    }

    private void sample() {
        while (running) {
            sampleOnce();
            Shell.sleep(100);
        }
    }

    private void sampleOnce() {
        services.forEach((name, service) -> {
            used.merge(name, gauge(service, "jvm.memory.used?tag=area:heap"), Math::max);
            live.merge(name, gauge(service, "jvm.gc.live.data.size"), Math::max);
        });
    }

    private static long gauge(ServiceProcess service, String metric) {
        try {
            var matcher = VALUE.matcher(
                    service.management().get("/actuator/metrics/" + metric).body());
            return matcher.find() ? (long) Double.parseDouble(matcher.group(1)) : 0;
        } catch (RuntimeException e) {
            return 0; // a service that does not answer right now (busy, or down: the case checks that)
        }
    }

    /** Starts a new case: forgets the peaks so far. */
    void reset() {
        used.clear();
        live.clear();
    }

    /**
     * {@code heap_used_mb=write:230,... heap_live_mb=write:41,...}: each service's peaks in MB since the last reset (0:
     * it never answered).
     */
    String line() {
        sampleOnce(); // a case shorter than the sampling period has a figure too
        return "heap_used_mb=" + megabytes(used) + " heap_live_mb=" + megabytes(live);
    }

    private String megabytes(Map<String, Long> peaks) {
        var line = new StringBuilder();
        services.keySet()
                .forEach(name -> line.append(line.isEmpty() ? "" : ",")
                        .append(name)
                        .append(':')
                        .append(peaks.getOrDefault(name, 0L) / (1024 * 1024)));
        return line.toString();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        sampler.join();
    }
}
