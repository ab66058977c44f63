package io.cqrs.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * HTTP/1.1 as bytes on a socket, for what {@link LocalHttp} cannot do: send a request java.net.http refuses to build (a
 * malformed request line, an invalid percent-encoding, oversized headers), and hold a connection open on purpose (an
 * idle or a slow client).
 */
public final class RawHttp {

    /** Longest wait for a byte of a response: a test fails instead of hanging. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final int port;

    public RawHttp(int port) {
        this.port = port;
    }

    /** A response as read off the wire; header names in lower case. */
    public record Response(int status, Map<String, List<String>> headers, String body) {

        public Optional<String> header(String name) {
            return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of()).stream()
                    .findFirst();
        }
    }

    /** Sends {@code request} exactly as given (one byte per char, ISO-8859-1) and reads one response. */
    public Response send(String request) {
        return send(request.getBytes(StandardCharsets.ISO_8859_1));
    }

    public Response send(byte[] request) {
        try (Socket socket = open()) {
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            return read(socket.getInputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A connection to the service, left to the caller: to send nothing, part of a request, or a request slowly. */
    public Socket open() {
        try {
            var socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
            return socket;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A connection that has sent {@code start} (perhaps nothing, perhaps part of a request) and is left open. */
    public Socket hold(String start) {
        Socket socket = open();
        try {
            socket.getOutputStream().write(start.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return socket;
        } catch (IOException e) {
            try {
                socket.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the service has closed {@code socket}: true once a read sees the end of the stream or a reset (whatever
     * the service answered first is skipped), false while the connection stays open with nothing to read. Meant to be
     * polled, e.g. by Awaitility; each call waits at most {@code poll} for a byte.
     */
    public static boolean closedByPeer(Socket socket, Duration poll) {
        try {
            socket.setSoTimeout((int) Math.max(1, poll.toMillis()));
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            while (true) {
                if (in.read(buffer) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One response: status line, headers, then a body by Content-Length, chunked, or up to the end of the stream. */
    private static Response read(InputStream in) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            throw new IOException("The connection closed before a response");
        }
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
            int colon = header.indexOf(':');
            headers.computeIfAbsent(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(header.substring(colon + 1).trim());
        }
        var body = new ByteArrayOutputStream();
        List<String> length = headers.get("content-length");
        List<String> coding = headers.get("transfer-encoding");
        if (length != null) {
            body.write(in.readNBytes(Integer.parseInt(length.getFirst())));
        } else if (coding != null && coding.getFirst().equalsIgnoreCase("chunked")) {
            for (int size = chunkSize(in); size > 0; size = chunkSize(in)) {
                body.write(in.readNBytes(size));
                line(in);
            }
        } else {
            in.transferTo(body);
        }
        return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    }

    private static int chunkSize(InputStream in) throws IOException {
        String line = line(in);
        return line == null ? 0 : Integer.parseInt(line.split(";", 2)[0].trim(), 16);
    }

    /** A CRLF-terminated line without its terminator, or null at the end of the stream. */
    private static @Nullable String line(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b = in.read(); b >= 0; b = in.read()) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }
}
