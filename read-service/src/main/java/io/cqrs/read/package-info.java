/** The query side: records with read counts, O(1) stats and honest health over the read model; its error advice. */
@NullMarked
package io.cqrs.read;

import org.jspecify.annotations.NullMarked;
