package io.cqrs.bench.naive;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/** The stream the naive app appends to; nothing reads it, bench/run.sh deletes it after the run. */
@ConfigurationProperties("naive")
record NaiveProperties(@DefaultValue("bench:naive:events") String stream) {}
