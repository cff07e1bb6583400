package org.swiattn.golden;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every file the tools read or write goes through here, so that no input can hang them and no output can replace
 * something that is not a file.
 *
 * <pre>
 *   requireRegularFile(p)    type check WITHOUT opening: a FIFO is never opened (opening one for reading blocks
 *                            until a writer appears), nor a device, socket or folder; links are followed
 *   writableFile(p, arg)     where a write to p will land: p itself (absent or a regular file), or the regular file
 *                            a symbolic link points to (written through, the link is kept); anything else refused
 *   atomicWrite(p, body)     body writes a temporary file beside the target, which is forced to disk and renamed
 *                            over it: a reader sees the old file or the new one, never half of one. The temporary
 *                            file is deleted on failure and by a shutdown hook (SIGTERM, SIGINT); its name never
 *                            appears in a message, and {@link #isTemporary} lets a folder check skip one that a
 *                            SIGKILL left behind
 *   writeBytes, writeString, textFile   atomicWrite of bytes, of text, of a report written line by line
 *   reason(e)                the cause of an IOException in words, without the exception class or a path
 * </pre>
 * A check and the open that follows are two system calls: a file swapped for a FIFO between them is not caught.
 */
public final class SafeFiles {
    /** Suffix of the temporary files of {@link #atomicWrite}. */
    public static final String TEMP_SUFFIX = ".swiattn-tmp";
    /**
     * Test hook: milliseconds to pause after the body has written the temporary file and before the rename (an
     * interrupted write can then be produced on purpose). 0 (unset) in normal use.
     */
    static final String PAUSE_PROPERTY = "swiattn.test.writePauseMillis";

    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : PENDING) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // the JVM is ending: nothing else can be done
                }
            }
        }, "swiattn-temp-cleanup"));
    }

    private SafeFiles() {
    }

    /** Writes the content of a file to an open channel. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel ch) throws IOException;
    }

    /**
     * Checks that p is a regular file (following symbolic links) without opening it.
     *
     * @return its attributes
     * @throws BadInputException "p: no such file", "p: is a folder", "p: is a FIFO (named pipe), not a regular
     *                           file ...", "p: cannot read: permission denied", ...
     */
    public static BasicFileAttributes requireRegularFile(Path p) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new BadInputException(p + ": " + (e instanceof NoSuchFileException ? "no such file"
                    : "cannot read: " + reason(e)));
        }
        String why = whyNotRegular(p, a);
        if (why != null) {
            throw new BadInputException(p + ": " + why);
        }
        return a;
    }

    /**
     * Why p cannot be read as a file ("no such file", "is a FIFO (named pipe), not a regular file ..."), or null
     * when it is a regular file; never opens p.
     */
    public static String whyNotRegular(Path p) {
        try {
            return whyNotRegular(p, Files.readAttributes(p, BasicFileAttributes.class));
        } catch (IOException e) {
            return e instanceof NoSuchFileException ? "no such file" : "cannot read: " + reason(e);
        }
    }

    private static String whyNotRegular(Path p, BasicFileAttributes a) {
        if (a.isRegularFile()) {
            return null;
        }
        if (a.isDirectory()) {
            return "is a folder, not a file";
        }
        return "is " + kind(p) + ", not a regular file (the tools read files by offset: save the data to a file "
                + "first)";
    }

    /**
     * "a FIFO (named pipe)", "a character device", "a block device", "a socket", "a symbolic link", "a folder",
     * "a regular file" or "a special file" (links followed unless the link itself is all there is).
     */
    public static String kind(Path p) {
        try {
            Object mode = Files.getAttribute(p, "unix:mode");
            if (mode instanceof Integer m) {
                switch (m & 0170000) {
                    case 0010000: return "a FIFO (named pipe)";
                    case 0020000: return "a character device";
                    case 0060000: return "a block device";
                    case 0140000: return "a socket";
                    case 0040000: return "a folder";
                    case 0100000: return "a regular file";
                    default: break;
                }
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // no unix view (or a dangling link): fall back to the portable attributes
        }
        if (Files.isSymbolicLink(p)) {
            return "a symbolic link";
        }
        return Files.isDirectory(p) ? "a folder" : "a special file";
    }

    /**
     * Where a write to {@code target} lands, after refusing every target that is not a file: p itself when absent
     * or a regular file; the link's target when p is a symbolic link to a regular file (written through, the link
     * is kept). The missing parent folders are not created here.
     *
     * @param arg the option that named the target (for the message), e.g. "--out"
     * @throws BadInputException for a folder, FIFO, device, socket, a link to one of those or to nothing, or a
     *                           parent path that runs through a file
     */
    public static Path writableFile(Path target, String arg) {
        Path abs = target.toAbsolutePath();
        String what = (arg == null ? "" : arg + " ") + target;
        if (abs.getFileName() == null) {
            throw new BadInputException(what + ": is a folder (the root), not a file");
        }
        BasicFileAttributes a = attributesNoFollow(abs);
        if (a != null && a.isSymbolicLink()) {
            BasicFileAttributes r = attributesFollow(abs);   // also /dev/stdout -> /proc/self/fd/1 -> pipe:[..]
            if (r == null) {
                throw new BadInputException(what + ": is a symbolic link to a missing file; refusing to write "
                        + "through it");
            }
            Path real = null;
            try {
                real = abs.toRealPath();
            } catch (IOException e) {
                // a pipe or socket behind /proc/self/fd has no path: named by its kind below
            }
            if (r.isRegularFile() && real != null) {
                return real;
            }
            throw new BadInputException(what + ": is a symbolic link to " + (real == null ? "" : real + ", ")
                    + kind(abs) + "; refusing to replace it (write to a regular file)");
        }
        if (a != null && a.isDirectory()) {
            throw new BadInputException(what + ": is a folder, not a file");
        }
        if (a != null && !a.isRegularFile()) {
            throw new BadInputException(what + ": is " + kind(abs) + ", not a regular file; refusing to replace it"
                    + " (write to a regular file)");
        }
        requireFolderPath(abs.getParent(), what);
        return abs;
    }

    /**
     * Checks that {@code dir} is a folder or can be created as one (no file on the way).
     *
     * @param arg the option that named it, for the message
     */
    public static Path writableFolder(Path dir, String arg) {
        Path abs = dir.toAbsolutePath();
        String what = (arg == null ? "" : arg + " ") + dir;
        BasicFileAttributes a = attributesFollow(abs);
        if (a != null && !a.isDirectory()) {
            throw new BadInputException(what + ": is " + kind(abs) + ", not a folder");
        }
        if (a == null) {
            requireFolderPath(abs.getParent(), what);
        }
        return abs;
    }

    /** Every existing ancestor on the way to a folder that will be created must be a folder. */
    private static void requireFolderPath(Path parent, String what) {
        for (Path p = parent; p != null; p = p.getParent()) {
            BasicFileAttributes a = attributesFollow(p);
            if (a == null) {
                if (Files.isSymbolicLink(p)) {
                    throw new BadInputException(what + ": " + p + " is a symbolic link to a missing folder");
                }
                continue;
            }
            if (!a.isDirectory()) {
                throw new BadInputException(what + ": cannot create the folder, " + p + " is " + kind(p)
                        + ", not a folder");
            }
            return;
        }
    }

    private static BasicFileAttributes attributesNoFollow(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null;
        }
    }

    private static BasicFileAttributes attributesFollow(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Writes a file atomically: checks the target ({@link #writableFile}), creates its folders, lets body write a
     * temporary file beside it, forces it to disk, makes it rw-r--r-- and renames it over the target.
     *
     * @param target the file to create or replace (a symbolic link to a regular file is written through)
     * @param body   writes the content; its IOExceptions are reported against the target, never the temporary file
     * @return the file written (the link's target for a link)
     * @throws BadInputException for a target that is not a file
     * @throws IOException       "cannot write TARGET: REASON"
     */
    public static Path atomicWrite(Path target, Body body) throws IOException {
        Path dest = writableFile(target, null);
        Path dir = dest.getParent();
        Path tmp = null;
        boolean done = false;
        try {
            Files.createDirectories(dir);
            String stem = dest.getFileName().toString();
            tmp = Files.createTempFile(dir, "." + (stem.length() > 100 ? stem.substring(0, 100) : stem) + ".",
                    TEMP_SUFFIX);
            PENDING.add(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                pauseForTests();
                ch.force(true);
            }
            publicPermissions(tmp);
            writableFile(dest, null);   // not swapped for a special file meanwhile
            try {
                Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dest, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
            return dest;
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new IOException("cannot write " + target + ": " + reason(e), e);
        } finally {
            if (tmp != null) {
                if (!done) {
                    Files.deleteIfExists(tmp);
                }
                PENDING.remove(tmp);
            }
        }
    }

    /** Writes bytes atomically ({@link #atomicWrite}). */
    public static Path writeBytes(Path target, byte[] content) throws IOException {
        return atomicWrite(target, ch -> {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
    }

    /** Writes UTF-8 text atomically ({@link #atomicWrite}). */
    public static Path writeString(Path target, String text) throws IOException {
        return writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A PrintWriter whose text is written to target atomically when it is closed (for reports built line by
     * line); a failure to write is thrown from close() as an UncheckedIOException.
     */
    public static PrintWriter textFile(Path target) {
        StringWriter buf = new StringWriter();
        return new PrintWriter(buf) {
            private boolean closed;

            @Override
            public void close() {
                super.close();
                if (!closed) {
                    closed = true;
                    try {
                        writeString(target, buf.toString());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
        };
    }

    private static void pauseForTests() {
        long ms = Long.getLong(PAUSE_PROPERTY, 0L);
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether a file name is one of {@link #atomicWrite}'s temporary files (a write in progress or interrupted). */
    public static boolean isTemporary(Path p) {
        String n = p.getFileName() == null ? "" : p.getFileName().toString();
        return n.startsWith(".") && n.endsWith(TEMP_SUFFIX);
    }

    /** rw-r--r-- where the file system has POSIX permissions (temporary files are created rw-------). */
    static void publicPermissions(Path p) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView("posix")) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    /** The cause of an IOException in words ("permission denied", "no space left on device"), without paths. */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof NotDirectoryException) {
            return "a path component is not a folder";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "a file of that name is in the way";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "a non-empty folder is in the way";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
