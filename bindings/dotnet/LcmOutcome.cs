// LcmOutcome.cs - .NET binding of liblcm_outcome: record a dialed call's telephony
// outcome in LCM.
//
// One file for Mono (mcs 6.8 and later) and modern .NET (Core 3.0 and later, .NET
// Framework 4.7 and later): add it to your project as a source file. The native
// library is found by its base name, "lcm_outcome": liblcm_outcome.so on Linux (beside
// the program, on LD_LIBRARY_PATH, or mapped with a Mono dllmap), lcm_outcome.dll on
// Windows (beside the program or on PATH), liblcm_outcome.dylib on macOS. When it cannot
// be loaded, or is older than this file, calls throw LcmLibraryNotFoundException, whose
// message lists where the runtime looked and how to point it at the library.
//
// The language level is kept to C# 6 on purpose, so that Debian's mcs compiles it.

using System;
using System.Collections.ObjectModel;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;

namespace LcmOutcome
{
    /// <summary>
    /// The status of a call, with the values of the C header's <c>LCM_OK</c>,
    /// <c>LCM_ERR_*</c> and <c>LCM_QUEUED</c> macros. Values are never renumbered; a later
    /// library version may add some, which still fit in this type (see
    /// <see cref="Lcm.StatusName"/>). <see cref="Ok"/> and <see cref="Queued"/> are
    /// results (<see cref="LcmResult"/>); every other status is thrown as an
    /// <see cref="LcmException"/>.
    /// </summary>
    public enum LcmStatus
    {
        /// <summary><c>LCM_OK</c>: LCM confirmed the outcome (<c>success: true</c>).</summary>
        Ok = 0,

        /// <summary>
        /// <c>LCM_ERR_INVALID_ARGUMENT</c>: a null, empty-where-mandatory, too long (over
        /// 64 KiB) or non-finite argument; the message names it. Nothing was sent.
        /// </summary>
        InvalidArgument = 1,

        /// <summary>
        /// <c>LCM_ERR_CONFIG</c>: no endpoint, a bad endpoint, an unknown option or a bad
        /// option value (also from an <c>LCM_&lt;KEY&gt;</c> environment variable).
        /// Nothing was sent.
        /// </summary>
        Config = 2,

        /// <summary>
        /// <c>LCM_ERR_CONNECT</c>: DNS, connect, TLS or proxy failure, or the deadline
        /// ran out while connecting. The request was not delivered: safe to send again.
        /// </summary>
        Connect = 3,

        /// <summary>
        /// <c>LCM_ERR_TIMEOUT</c>: the request was sent but no complete answer came within
        /// <c>timeout_ms</c>, or the connection broke before it was complete. The outcome
        /// may or may not be recorded: check in LCM before sending it again.
        /// </summary>
        Timeout = 4,

        /// <summary>
        /// <c>LCM_ERR_HTTP_STATUS</c>: the server answered a non-2xx status (3xx too:
        /// redirects are not followed). The message quotes up to 200 bytes of the body.
        /// </summary>
        HttpStatus = 5,

        /// <summary>
        /// <c>LCM_ERR_BAD_RESPONSE</c>: a 2xx answer that is not a valid
        /// <c>SetCallOutcomeWithCommentsResult</c> for this call, or not valid HTTP. The
        /// outcome may or may not be recorded.
        /// </summary>
        BadResponse = 6,

        /// <summary>
        /// <c>LCM_ERR_REJECTED</c>: LCM answered <c>success: false</c>; the message carries
        /// its error type, message and detail (e.g. <c>WS_Error</c>, "Invalid Call ID.").
        /// </summary>
        Rejected = 7,

        /// <summary>
        /// <c>LCM_ERR_INTERNAL</c>: a bug in the library (a caught panic). The process
        /// stays alive; please report the message.
        /// </summary>
        Internal = 8,

        /// <summary>
        /// <c>LCM_QUEUED</c>: not confirmed now, but stored durably in the outbox (option
        /// <c>outbox</c>) and delivered later, by the background sender or
        /// <see cref="Lcm.Flush"/>. Not a failure: the library is responsible for the
        /// outcome from here on. Only with <c>outbox</c> set.
        /// </summary>
        Queued = 9,
    }

    /// <summary>
    /// What <c>SetOutcome</c> did with an outcome it did not throw for: LCM confirmed it
    /// (<see cref="LcmStatus.Ok"/>), or it is stored in the outbox for later delivery
    /// (<see cref="LcmStatus.Queued"/>, only with the <c>outbox</c> option).
    /// </summary>
    public sealed class LcmResult
    {
        // The library's LCM_QUEUED message: "queued in the outbox '<path>' as entry N, to
        // be delivered later; <why>". The path and the why may hold any text, so the id
        // is read where the wording puts it; the looser form serves a reworded message.
        private static readonly Regex Entry = new Regex(@"' as entry ([0-9]+), to be delivered later");
        private static readonly Regex AnyEntry = new Regex(@"\bentry ([0-9]+)\b");

        internal static readonly LcmResult Delivered = new LcmResult(LcmStatus.Ok, null, "");

        private LcmResult(LcmStatus status, long? entryId, string message)
        {
            Status = status;
            EntryId = entryId;
            Message = message;
        }

        internal static LcmResult QueuedWith(string message)
        {
            var found = Entry.Match(message);
            if (!found.Success) found = AnyEntry.Match(message);
            long id;
            long? entryId = found.Success && long.TryParse(found.Groups[1].Value, out id) ? id : (long?)null;
            return new LcmResult(LcmStatus.Queued, entryId, message);
        }

        /// <summary><see cref="LcmStatus.Ok"/> or <see cref="LcmStatus.Queued"/>.</summary>
        public LcmStatus Status { get; private set; }

        /// <summary>Whether the outcome waits in the outbox rather than being confirmed.</summary>
        public bool Queued
        {
            get { return Status == LcmStatus.Queued; }
        }

        /// <summary>The outbox entry's id when queued (null if a message ever lacks it).</summary>
        public long? EntryId { get; private set; }

        /// <summary>
        /// When queued, the library's message: where the outcome is stored and why (the
        /// delivery error); <c>""</c> when delivered.
        /// </summary>
        public string Message { get; private set; }

        /// <summary><c>"LCM_OK"</c>, or <c>"LCM_QUEUED: "</c> and the message.</summary>
        public override string ToString()
        {
            return Queued ? "LCM_QUEUED: " + Message : "LCM_OK";
        }
    }

    /// <summary>The outbox after a <c>Flush</c>.</summary>
    public sealed class LcmFlushResult
    {
        internal LcmFlushResult(long delivered, long pending, long dead)
        {
            Delivered = delivered;
            Pending = pending;
            Dead = dead;
        }

        /// <summary>Entries LCM confirmed during this flush.</summary>
        public long Delivered { get; private set; }

        /// <summary>
        /// Entries still waiting afterwards (those another thread or process is sending
        /// included); 0 when <c>Flush</c> returns.
        /// </summary>
        public long Pending { get; private set; }

        /// <summary>Dead letters (rejected by LCM, or older than <c>outbox_max_age_s</c>) afterwards.</summary>
        public long Dead { get; private set; }

        /// <summary><c>"delivered D, pending P, dead X"</c>.</summary>
        public override string ToString()
        {
            return "delivered " + Delivered + ", pending " + Pending + ", dead " + Dead;
        }
    }

    /// <summary>What the outbox holds (<c>OutboxCount</c>).</summary>
    public sealed class LcmOutboxCount
    {
        internal LcmOutboxCount(long pending, long dead)
        {
            Pending = pending;
            Dead = dead;
        }

        /// <summary>Entries waiting for delivery (those being sent included).</summary>
        public long Pending { get; private set; }

        /// <summary>Dead letters (rejected by LCM, or older than <c>outbox_max_age_s</c>).</summary>
        public long Dead { get; private set; }

        /// <summary><c>"pending P, dead X"</c>.</summary>
        public override string ToString()
        {
            return "pending " + Pending + ", dead " + Dead;
        }
    }

    /// <summary>
    /// A call that did not end in <see cref="LcmStatus.Ok"/>. Catch a subclass to handle
    /// one status, or this class for all; <see cref="Status"/> holds the code either way.
    /// </summary>
    public class LcmException : Exception
    {
        /// <summary>The status the library returned.</summary>
        public LcmStatus Status { get; private set; }

        /// <summary>The status's C macro name, e.g. <c>"LCM_ERR_TIMEOUT"</c>.</summary>
        public string StatusName { get; private set; }

        /// <summary>
        /// The library's own message, without the status name. (For LCM's own
        /// <c>error.detail</c> of a rejection, see <see cref="LcmRejectedException.LcmDetail"/>.)
        /// </summary>
        public string Detail { get; private set; }

        /// <summary>
        /// How to set, in C#, the option the message names (an
        /// <see cref="LcmConfigException"/> such as "endpoint is not set"), e.g.
        /// <c>call Lcm.Configure("endpoint", ...) or set LCM_ENDPOINT</c>; null when the
        /// message names none. The library's messages name options, not the way a
        /// language sets them.
        /// </summary>
        public string Hint { get; private set; }

        /// <summary>
        /// Thrown by <c>Flush</c> after deliveries were tried: the outbox's counts (what
        /// was delivered, what is still pending); null otherwise.
        /// </summary>
        public LcmFlushResult FlushResult { get; internal set; }

        /// <summary>
        /// An exception for <paramref name="status"/> with the library's message
        /// <paramref name="detail"/>; <see cref="Exception.Message"/> is
        /// <c>"STATUS_NAME: detail"</c>, the form the C example prints, followed by
        /// <c>"; hint: ..."</c> when there is a <see cref="Hint"/>.
        /// </summary>
        public LcmException(LcmStatus status, string detail)
            : this(status, detail, null)
        {
        }

        private LcmException(LcmStatus status, string detail, string hint)
            : this(status, Lcm.StatusName(status), detail, hint)
        {
        }

        private LcmException(LcmStatus status, string statusName, string detail, string hint)
            : base(statusName + ": " + detail + (hint == null ? "" : "; hint: " + hint))
        {
            Status = status;
            StatusName = statusName;
            Detail = detail;
            Hint = hint;
        }

        // For the subclasses: their status is the one the table pairs with their class.
        internal LcmException(Type raisedFor, string detail, string hint = null)
            : this(StatusOf(raisedFor), detail, hint)
        {
        }

        // The binding's only pairing of error statuses with exception classes (a class
        // per LCM_ERR_* status): For reads it one way, each subclass's constructor the
        // other. tests/bindings_agree.rs checks it against include/lcm_outcome.h.
        // Only a configuration error has a hint (see Hints), so only its class takes one.
        private static readonly Subclass[] Subclasses =
        {
            Subclass.Of(LcmStatus.InvalidArgument, (d, h) => new LcmInvalidArgumentException(d)),
            Subclass.Of(LcmStatus.Config, (d, h) => new LcmConfigException(d, h)),
            Subclass.Of(LcmStatus.Connect, (d, h) => new LcmConnectException(d)),
            Subclass.Of(LcmStatus.Timeout, (d, h) => new LcmTimeoutException(d)),
            Subclass.Of(LcmStatus.HttpStatus, (d, h) => new LcmHttpStatusException(d)),
            Subclass.Of(LcmStatus.BadResponse, (d, h) => new LcmBadResponseException(d)),
            Subclass.Of(LcmStatus.Rejected, (d, h) => new LcmRejectedException(d)),
            Subclass.Of(LcmStatus.Internal, (d, h) => new LcmInternalException(d)),
        };

        /// <summary>
        /// The exception for <paramref name="status"/>: its subclass when this version
        /// has one, this class for any other status. A configuration error gets the hint
        /// <paramref name="hinter"/> (<see cref="Hints"/>: the default client's or an
        /// <see cref="LcmClient"/>'s) makes of its message.
        /// </summary>
        internal static LcmException For(LcmStatus status, string detail, Func<string, string> hinter = null)
        {
            var hint = status == LcmStatus.Config && hinter != null ? hinter(detail) : null;
            foreach (var subclass in Subclasses)
            {
                if (subclass.Status == status) return subclass.Create(detail, hint);
            }
            return new LcmException(status, detail, hint);
        }

        private static LcmStatus StatusOf(Type raisedFor)
        {
            foreach (var subclass in Subclasses)
            {
                if (subclass.Class == raisedFor) return subclass.Status;
            }
            throw new InvalidOperationException(raisedFor.Name + " is missing from LcmException's table");
        }

        private sealed class Subclass
        {
            internal LcmStatus Status;
            internal Type Class;
            internal Func<string, string, LcmException> Create;

            // Generic so that the class is named once, in the constructor call.
            internal static Subclass Of<T>(LcmStatus status, Func<string, string, T> create) where T : LcmException
            {
                return new Subclass { Status = status, Class = typeof(T), Create = (d, h) => create(d, h) };
            }
        }
    }

    /// <summary><see cref="LcmStatus.InvalidArgument"/>: a bad argument; nothing was sent.</summary>
    public sealed class LcmInvalidArgumentException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmInvalidArgumentException(string detail) : base(typeof(LcmInvalidArgumentException), detail) { }
    }

    /// <summary>
    /// <see cref="LcmStatus.Config"/>: missing or bad configuration; nothing was sent.
    /// When the message names an option to set, <see cref="LcmException.Hint"/> says how.
    /// </summary>
    public sealed class LcmConfigException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmConfigException(string detail) : base(typeof(LcmConfigException), detail) { }

        /// <summary>Wraps the library's message, with a hint (null: none).</summary>
        public LcmConfigException(string detail, string hint) : base(typeof(LcmConfigException), detail, hint) { }
    }

    /// <summary><see cref="LcmStatus.Connect"/>: not delivered; safe to send again.</summary>
    public sealed class LcmConnectException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmConnectException(string detail) : base(typeof(LcmConnectException), detail) { }
    }

    /// <summary><see cref="LcmStatus.Timeout"/>: no complete answer in time; the outcome may or may not be recorded.</summary>
    public sealed class LcmTimeoutException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmTimeoutException(string detail) : base(typeof(LcmTimeoutException), detail) { }
    }

    /// <summary><see cref="LcmStatus.HttpStatus"/>: the server answered a non-2xx status.</summary>
    public sealed class LcmHttpStatusException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmHttpStatusException(string detail) : base(typeof(LcmHttpStatusException), detail) { }
    }

    /// <summary><see cref="LcmStatus.BadResponse"/>: a 2xx answer that is not a valid result for this call.</summary>
    public sealed class LcmBadResponseException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmBadResponseException(string detail) : base(typeof(LcmBadResponseException), detail) { }
    }

    /// <summary>
    /// <see cref="LcmStatus.Rejected"/>: LCM answered <c>success: false</c>, with its
    /// error object in <see cref="LcmType"/>, <see cref="LcmMessage"/> and
    /// <see cref="LcmDetail"/>.
    /// </summary>
    public sealed class LcmRejectedException : LcmException
    {
        // The library's message (src/message.rs):
        //   LCM rejected the outcome (success: false): type "T", message "M", detail "D"
        // with each part present only when LCM sent it, in this order, joined by ", ".
        // Quotes in the values are not escaped, so each value ends at the quote that the
        // next part, or the end, follows; detail, the last, runs to the final quote. A
        // message of another form (a reworded library) leaves the fields null.
        private static readonly Regex Fields = new Regex(
            @"LCM rejected the outcome \(success: false\): " +
            @"(?:type ""(?<type>.*?)""(?:, |\z))?" +
            @"(?:message ""(?<message>.*?)""(?:, |\z))?" +
            @"(?:detail ""(?<detail>.*)"")?\z",
            RegexOptions.Singleline);

        /// <summary>Wraps the library's message, reading LCM's fields from it.</summary>
        public LcmRejectedException(string detail) : base(typeof(LcmRejectedException), detail)
        {
            var found = Fields.Match(detail ?? "");
            LcmType = Field(found, "type");
            LcmMessage = Field(found, "message");
            LcmDetail = Field(found, "detail");
        }

        /// <summary>LCM's <c>error.type</c>, e.g. <c>"WS_Error"</c>; null when LCM sent none.</summary>
        /// <remarks>
        /// The three fields are read back from the library's message, so they are as it
        /// shows them: at most 80 bytes, cut with <c>"..."</c>, control characters
        /// escaped (<c>\n</c>, <c>\x1b</c>). An empty field counts as none.
        /// </remarks>
        public string LcmType { get; private set; }

        /// <summary>LCM's <c>error.message</c>, e.g. <c>"Invalid Call ID."</c>; null when LCM sent none.</summary>
        public string LcmMessage { get; private set; }

        /// <summary>LCM's <c>error.detail</c>, e.g. <c>"Invalid Call ID:123"</c>; null when LCM sent none.</summary>
        public string LcmDetail { get; private set; }

        private static string Field(Match found, string name)
        {
            return found.Success && found.Groups[name].Success ? found.Groups[name].Value : null;
        }
    }

    /// <summary><see cref="LcmStatus.Internal"/>: a bug in the library; the process stays alive.</summary>
    public sealed class LcmInternalException : LcmException
    {
        /// <summary>Wraps the library's message.</summary>
        public LcmInternalException(string detail) : base(typeof(LcmInternalException), detail) { }
    }

    /// <summary>
    /// No usable native library: the runtime could not load <c>lcm_outcome</c>
    /// (<see cref="Exception.InnerException"/> is its <see cref="DllNotFoundException"/>), or
    /// the library it loaded lacks a function this file calls, being older than it (an
    /// <see cref="EntryPointNotFoundException"/>). The message lists where the runtime looks
    /// and how to point it at the library. It is a <see cref="DllNotFoundException"/>, so
    /// code that catches that still does.
    /// </summary>
    public sealed class LcmLibraryNotFoundException : DllNotFoundException
    {
        private LcmLibraryNotFoundException(string message, Exception inner, string[] places)
            : base(message, inner)
        {
            SearchPlaces = Array.AsReadOnly(places);
        }

        /// <summary>The library's file name on this platform, e.g. <c>liblcm_outcome.so</c>.</summary>
        public string LibraryFileName
        {
            get { return LibrarySearch.FileName; }
        }

        /// <summary>Where the runtime looks for the library, in its order, as the message lists them.</summary>
        public ReadOnlyCollection<string> SearchPlaces { get; private set; }

        internal static LcmLibraryNotFoundException NotFound(DllNotFoundException e)
        {
            var places = LibrarySearch.Places();
            return new LcmLibraryNotFoundException(
                "cannot load the native library \"lcm_outcome\" (" + LibrarySearch.FileName +
                "); the runtime looked in:\n" + LibrarySearch.Bullets(places) + LibrarySearch.Remedy() +
                "\n(the runtime's error: " + e.Message + ")", e, places);
        }

        internal static LcmLibraryNotFoundException TooOld(EntryPointNotFoundException e)
        {
            var places = LibrarySearch.Places();
            return new LcmLibraryNotFoundException(
                "the native library \"lcm_outcome\" that the runtime loaded lacks a function " +
                "LcmOutcome.cs calls: it is older than this file. Use the library of the same " +
                "version; the runtime took the first " + LibrarySearch.FileName + " it found in:\n" +
                LibrarySearch.Bullets(places) + LibrarySearch.Remedy() +
                "\n(the runtime's error: " + e.Message + ")", e, places);
        }
    }

    /// <summary>
    /// How does a C# user set the option an <see cref="LcmConfigException"/> names? The
    /// library's messages name the option ("configure the 'endpoint' option"), never the
    /// way to set it, which is each language's own; this adds the C# way for the client
    /// that threw: an <see cref="LcmClient"/> or the default client, <see cref="Lcm"/>,
    /// which alone reads the <c>LCM_&lt;KEY&gt;</c> environment variables.
    /// </summary>
    internal static class Hints
    {
        // The library's two wordings of "this option needs a value": "configure the
        // 'endpoint' option" (no endpoint; a bad LCM_<KEY> variable) and "set the outbox
        // option" (Flush or OutboxCount without an outbox). A message naming an option
        // in neither form gets no hint rather than a guess.
        private static readonly Regex NamedOption =
            new Regex(@"\bconfigure the '([a-z_]+)' option\b|\bset the ([a-z_]+) option\b");

        /// <summary>The hint for an <see cref="LcmClient"/>'s error, or null.</summary>
        internal static string ForClient(string detail)
        {
            var option = OptionNamed(detail);
            if (option == null) return null;
            var hint = "call client.Configure(\"" + option + "\", ...) on the LcmClient";
            // "the default client also reads LCM_ENDPOINT": true, but not of this client.
            if (detail.Contains(EnvVar(option)))
                hint += " (an LcmClient does not read " + EnvVar(option) + ")";
            return hint;
        }

        /// <summary>The hint for an error of the default client (<see cref="Lcm"/>), or null.</summary>
        internal static string ForDefaultClient(string detail)
        {
            var option = OptionNamed(detail);
            if (option == null) return null;
            var hint = "call Lcm.Configure(\"" + option + "\", ...)";
            // When the variable is what is wrong, the message already says to fix it.
            if (!detail.Contains("environment variable " + EnvVar(option)))
                hint += " or set " + EnvVar(option);
            return hint;
        }

        private static string OptionNamed(string detail)
        {
            var found = NamedOption.Match(detail ?? "");
            if (!found.Success) return null;
            return found.Groups[1].Success ? found.Groups[1].Value : found.Groups[2].Value;
        }

        private static string EnvVar(string option)
        {
            return "LCM_" + option.ToUpperInvariant();
        }
    }

    /// <summary>
    /// Where does the runtime look for the native library, and how is it pointed at it?
    /// For <see cref="LcmLibraryNotFoundException"/>'s message: Mono and .NET both try a
    /// dllmap or resolver first (Mono's config files; .NET's NativeLibrary resolver), then
    /// the program's directory, then the operating system's loader.
    /// </summary>
    internal static class LibrarySearch
    {
        private static bool Windows
        {
            get { return Path.DirectorySeparatorChar == '\\'; }
        }

        // Mono and .NET Core report macOS as Unix; its system folders tell it apart.
        private static bool MacOS
        {
            get
            {
                return Environment.OSVersion.Platform == PlatformID.MacOSX ||
                    (!Windows && Directory.Exists("/System/Library/CoreServices"));
            }
        }

        private static bool Mono
        {
            get { return Type.GetType("Mono.Runtime") != null; }
        }

        internal static string FileName
        {
            get { return Windows ? "lcm_outcome.dll" : MacOS ? "liblcm_outcome.dylib" : "liblcm_outcome.so"; }
        }

        internal static string[] Places()
        {
            var places = new System.Collections.Generic.List<string>();
            if (Mono)
                places.Add("a Mono <dllmap dll=\"lcm_outcome\" .../> in " + ConfigFile() +
                           " or in Mono's own config file");
            places.Add("beside the program: " + string.Join(" and ", ProgramDirectories()));
            if (Windows)
            {
                places.Add("the system directories (System32, the Windows directory)");
                places.Add("the current directory: " + Environment.CurrentDirectory);
                places.Add("the directories on PATH");
            }
            else
            {
                var variable = MacOS ? "DYLD_LIBRARY_PATH" : "LD_LIBRARY_PATH";
                var value = Environment.GetEnvironmentVariable(variable);
                places.Add(string.IsNullOrEmpty(value)
                    ? "the directories on " + variable + " (not set)"
                    : "the directories on " + variable + ": " + value);
                places.Add(MacOS
                    ? "the system's library directories (/usr/local/lib, /usr/lib)"
                    : "the system's library directories (the ld.so cache of /etc/ld.so.conf, /lib, /usr/lib)");
            }
            return places.ToArray();
        }

        internal static string Bullets(string[] places)
        {
            var text = new StringBuilder();
            foreach (var place in places) text.Append("  - ").Append(place).Append('\n');
            return text.ToString();
        }

        internal static string Remedy()
        {
            if (Windows)
                return "Put lcm_outcome.dll beside the program's .exe, or add its directory to PATH.";
            var variable = MacOS ? "DYLD_LIBRARY_PATH" : "LD_LIBRARY_PATH";
            var remedy = "Put " + FileName + " beside the program, add its directory to " + variable +
                ", or install it in a system library directory" + (MacOS ? "" : " (then run ldconfig)");
            if (Mono)
                remedy += "; or map the name to its path in " + ConfigFile() +
                    ": <configuration><dllmap dll=\"lcm_outcome\" target=\"/path/to/" + FileName +
                    "\"/></configuration>";
            return remedy + ".";
        }

        private static string[] ProgramDirectories()
        {
            var directories = new System.Collections.Generic.List<string>();
            Add(directories, AppDomain.CurrentDomain.BaseDirectory);
            Add(directories, DirectoryOf(typeof(LibrarySearch).Assembly));
            return directories.ToArray();
        }

        private static void Add(System.Collections.Generic.List<string> directories, string directory)
        {
            if (string.IsNullOrEmpty(directory)) return;
            var full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
            if (!directories.Contains(full)) directories.Add(full);
        }

        // Assembly.Location is empty for an assembly loaded from bytes or bundled in a
        // single-file program.
        private static string DirectoryOf(Assembly assembly)
        {
            var location = assembly == null ? null : assembly.Location;
            return string.IsNullOrEmpty(location) ? null : Path.GetDirectoryName(location);
        }

        private static string ConfigFile()
        {
            var entry = Assembly.GetEntryAssembly();
            var location = entry == null ? null : entry.Location;
            return string.IsNullOrEmpty(location) ? "YourProgram.exe.config" : location + ".config";
        }
    }

    /// <summary>
    /// The process-wide default client of the C API (<c>lcm_configure</c>,
    /// <c>lcm_set_outcome</c>), shared with any C code in the same process. It reads the
    /// <c>LCM_&lt;KEY&gt;</c> environment variables (<c>LCM_ENDPOINT</c>, <c>LCM_AUTH</c>,
    /// ...) once, at its first use; <see cref="Configure"/> overrides them.
    /// </summary>
    public static class Lcm
    {
        /// <summary>
        /// The library's version, <c>"MAJOR.MINOR.PATCH"</c> (the native library's, not
        /// this file's).
        /// </summary>
        public static string Version
        {
            get { return Native.DecodeCString(Native.Call(() => Native.lcm_version())); }
        }

        /// <summary>
        /// The C macro name of <paramref name="status"/>: <c>"LCM_OK"</c>,
        /// <c>"LCM_ERR_TIMEOUT"</c>, ..., or <c>"LCM_UNKNOWN_STATUS"</c> for a value the
        /// library does not define.
        /// </summary>
        public static string StatusName(LcmStatus status)
        {
            return Native.DecodeCString(Native.Call(() => Native.lcm_status_name((int)status)));
        }

        /// <summary>
        /// Sets option <paramref name="key"/> of the default client to
        /// <paramref name="value"/>; an empty value restores the option's default.
        /// Options and defaults:
        /// <list type="bullet">
        /// <item><c>endpoint</c>: <c>http://</c> or <c>https://</c> URL of the LCM web service; no default (calls fail with <see cref="LcmConfigException"/>).</item>
        /// <item><c>source</c>: the envelope's <c>source</c>, the sending application's name; default <c>"lcm-outcome"</c>.</item>
        /// <item><c>timeout_ms</c>: deadline of the whole call, retries included (1 to 3600000); default <c>10000</c>.</item>
        /// <item><c>connect_timeout_ms</c>: limit of each connection attempt (1 to 3600000); default <c>3000</c>.</item>
        /// <item><c>retries</c>: extra attempts (0 to 10), only when the request was provably not delivered or LCM answered 503 or 429; default <c>2</c>.</item>
        /// <item><c>auth</c>: the <c>Authorization</c> header's value; never logged or echoed; default none.</item>
        /// <item><c>tls_roots</c>: which CAs HTTPS trusts besides <c>ca_file</c>: <c>system</c> (the operating system's store: the Windows certificate store, the distribution's bundle on Linux; <c>SSL_CERT_FILE</c>/<c>SSL_CERT_DIR</c>, when set, replace it), <c>webpki</c> (the built-in Mozilla roots) or <c>none</c> (only <c>ca_file</c>); default <c>system</c>.</item>
        /// <item><c>ca_file</c>: PEM file of CA certificates trusted in addition to <c>tls_roots</c>, each a CA certificate (an expired one is left out); default none.</item>
        /// <item><c>proxy</c>: <c>http://host:port</c> or <c>https://host:port</c>; <c>"none"</c> connects directly; default from <c>ALL_PROXY</c>/<c>HTTPS_PROXY</c>/<c>HTTP_PROXY</c> minus <c>NO_PROXY</c>.</item>
        /// <item><c>log_level</c>: <c>off</c>, <c>error</c>, <c>warn</c>, <c>info</c>, <c>debug</c>, <c>trace</c>, to stderr or <see cref="SetLogHandler"/>'s handler; default <c>warn</c>.</item>
        /// <item><c>outbox</c>: path of an SQLite file (created when missing, in a directory that exists) where outcomes LCM did not confirm for a reason that may pass wait for later delivery; <c>SetOutcome</c> then returns a queued <see cref="LcmResult"/> instead of throwing; default none (nothing is stored).</item>
        /// <item><c>outbox_mode</c>: <c>fallback</c> (send now, queue only when that fails for a reason that may pass) or <c>always</c> (store and return queued at once; a background sender delivers); default <c>fallback</c>.</item>
        /// <item><c>outbox_retry_ms</c>: how often the background sender tries pending outcomes; <c>0</c>: no sender, only <see cref="Flush"/> delivers; default <c>30000</c>.</item>
        /// <item><c>outbox_max_age_s</c>: after this an undelivered outcome is given up, moved to the dead letters and logged at <c>error</c>; default <c>604800</c> (a week).</item>
        /// </list>
        /// Safe from any thread, also while other threads send: a call already running
        /// keeps the settings it started with.
        /// </summary>
        /// <exception cref="LcmConfigException">Unknown key or bad value; the setting is unchanged.</exception>
        /// <exception cref="LcmInvalidArgumentException">A null key or value, or one holding a NUL character or a lone surrogate.</exception>
        /// <exception cref="LcmLibraryNotFoundException">No usable native library (as from every method of <see cref="Lcm"/> and <see cref="LcmClient"/>).</exception>
        public static void Configure(string key, string value)
        {
            Native.CheckOption(key, value);
            var err = Native.ErrorBuffer();
            var status = Native.Call(() => Native.lcm_configure(key, value, err, (UIntPtr)err.Length));
            Native.ThrowUnlessOk(status, err, Hints.ForDefaultClient);
        }

        /// <summary>
        /// Records the telephony outcome of call <paramref name="callId"/> in LCM with the
        /// default client, synchronously: sends LCM's <c>SetCallOutcomeWithComments</c>
        /// request to the configured <c>endpoint</c>. Returns a delivered
        /// <see cref="LcmResult"/> when LCM answered <c>success: true</c> for that call id,
        /// a queued one (<see cref="LcmResult.Queued"/>) when the <c>outbox</c> option is set
        /// and the outcome is stored there for later delivery: not a failure, nothing is
        /// left for the caller to do. Otherwise throws the <see cref="LcmException"/>
        /// subclass of the failure.
        /// Returns within <c>timeout_ms</c> (default 10 s), retries included.
        /// Safe from any number of threads at once.
        /// </summary>
        /// <param name="callId">The dialer's call id (<c>callid</c>); mandatory, non-empty.</param>
        /// <param name="accountNumber">The contact's LCM key (<c>AccountNumber</c>); mandatory.</param>
        /// <param name="outcomeId">The telephony outcome (<c>OutcomeId</c>); mandatory. A canonical decimal integer such as <c>"1"</c> goes on the wire as a JSON number, other text as a JSON string.</param>
        /// <param name="leadScore"><c>LeadScore</c>; finite.</param>
        /// <param name="userId">The agent's id (<c>UserID</c>); mandatory.</param>
        /// <param name="agentComments"><c>AgentComments</c>; may be empty, not null.</param>
        /// <param name="targetAmount"><c>TargetAmount</c>; finite.</param>
        /// <exception cref="LcmException">
        /// The subclass of the status: <see cref="LcmInvalidArgumentException"/> (also when
        /// called from inside a log handler, see <see cref="SetLogHandler"/>) or
        /// <see cref="LcmConfigException"/> (nothing was sent),
        /// <see cref="LcmConnectException"/> (not delivered; safe to retry),
        /// <see cref="LcmTimeoutException"/> (outcome unknown),
        /// <see cref="LcmHttpStatusException"/>, <see cref="LcmBadResponseException"/>,
        /// <see cref="LcmRejectedException"/> or <see cref="LcmInternalException"/>.
        /// </exception>
        public static LcmResult SetOutcome(string callId, string accountNumber, string outcomeId,
                                           double leadScore, string userId, string agentComments,
                                           double targetAmount)
        {
            LogDispatch.RefuseInsideHandler();
            Native.CheckOutcomeTexts(callId, accountNumber, outcomeId, userId, agentComments);
            var err = Native.ErrorBuffer();
            var status = Native.Call(() => Native.lcm_set_outcome(
                callId, accountNumber, outcomeId, leadScore, userId, agentComments, targetAmount,
                err, (UIntPtr)err.Length));
            return Native.OutcomeResult(status, err, Hints.ForDefaultClient);
        }

        /// <summary>
        /// Delivers the default client's outbox now (<c>lcm_outbox_flush</c>), oldest first,
        /// in this thread, until nothing is pending or <paramref name="timeoutMs"/> passes.
        /// Entries LCM confirms leave the outbox; entries LCM rejects become dead letters.
        /// Returns the counts when nothing is left pending.
        /// </summary>
        /// <param name="timeoutMs">How long to try, 0 or more milliseconds; default 10000, like a call's.</param>
        /// <exception cref="LcmException">
        /// Entries are still pending: the status of the last failed delivery
        /// (<see cref="LcmConnectException"/> while LCM is down; <see cref="LcmTimeoutException"/>
        /// also when the time ran out or entries are being sent elsewhere), with the counts in
        /// <see cref="LcmException.FlushResult"/>. <see cref="LcmConfigException"/>: no
        /// <c>outbox</c>, or its file cannot be used; <see cref="LcmInvalidArgumentException"/>:
        /// a negative <paramref name="timeoutMs"/>.
        /// </exception>
        public static LcmFlushResult Flush(int timeoutMs = 10000)
        {
            var err = Native.ErrorBuffer();
            UIntPtr delivered = UIntPtr.Zero, pending = UIntPtr.Zero, dead = UIntPtr.Zero;
            var status = Native.Call(() => Native.lcm_outbox_flush(
                timeoutMs, out delivered, out pending, out dead, err, (UIntPtr)err.Length));
            return Native.FlushResult(status, err, delivered, pending, dead, Hints.ForDefaultClient);
        }

        /// <summary>
        /// Counts the default client's outbox without sending anything
        /// (<c>lcm_outbox_count</c>).
        /// </summary>
        /// <exception cref="LcmConfigException">No <c>outbox</c>, or its file cannot be read.</exception>
        public static LcmOutboxCount OutboxCount()
        {
            var err = Native.ErrorBuffer();
            UIntPtr pending = UIntPtr.Zero, dead = UIntPtr.Zero;
            var status = Native.Call(() => Native.lcm_outbox_count(
                out pending, out dead, err, (UIntPtr)err.Length));
            return Native.CountResult(status, err, pending, dead, Hints.ForDefaultClient);
        }

        /// <summary><c>LCM_LOG_ERROR</c> (1): problems the operator must fix.</summary>
        public const int LogError = 1;

        /// <summary><c>LCM_LOG_WARN</c> (2): failed attempts that the library retries.</summary>
        public const int LogWarn = 2;

        /// <summary><c>LCM_LOG_INFO</c> (3): calls that fail (the exception's text).</summary>
        public const int LogInfo = 3;

        /// <summary><c>LCM_LOG_DEBUG</c> (4): one line per attempt and per success, without contents.</summary>
        public const int LogDebug = 4;

        /// <summary>
        /// <c>LCM_LOG_TRACE</c> (5): request and answer bodies, agent comments (personal
        /// data) included.
        /// </summary>
        public const int LogTrace = 5;

        /// <summary>
        /// Sends the library's log lines, of every client in the process, to
        /// <paramref name="handler"/>(level, message) instead of stderr; null restores
        /// stderr (<c>lcm-outcome [level] message</c>).
        /// <para>
        /// The level is <see cref="LogError"/> (1) to <see cref="LogTrace"/> (5); the
        /// message is one line without prefix or newline. Each client's <c>log_level</c>
        /// option decides which lines exist at all (default <c>warn</c>). The
        /// <c>auth</c> value never appears; agent comments only at <c>trace</c>.
        /// </para>
        /// <para>
        /// The handler runs on the thread making the logged call, possibly on many threads
        /// at once, so it must be thread-safe. An exception it throws is swallowed (it
        /// must not reach native code) and does not change the call's result. It may call
        /// <see cref="SetLogHandler"/> and <c>Configure</c>, but not <c>SetOutcome</c>
        /// (whose own lines would come back to it), which throws
        /// <see cref="LcmInvalidArgumentException"/> there and sends nothing, as the C
        /// API's <c>lcm_set_outcome</c> refuses it inside a log callback.
        /// </para>
        /// <para>
        /// When this returns, no other thread is still running the previous handler.
        /// Because it waits for them, do not call it while holding a lock the handler
        /// takes.
        /// </para>
        /// </summary>
        public static void SetLogHandler(Action<int, string> handler)
        {
            LogDispatch.Set(handler);
        }
    }

    /// <summary>
    /// An independent client with its own configuration and connection pool, for
    /// programs that talk to several LCM servers. It does not read the
    /// <c>LCM_&lt;KEY&gt;</c> environment variables: configure it with
    /// <see cref="Configure"/>. Every method is safe from any number of threads at once,
    /// <see cref="Dispose"/> included: the native client is freed only once the last
    /// call running on it has returned.
    /// </summary>
    public sealed class LcmClient : IDisposable
    {
        private readonly ClientHandle handle;
        private int disposed;

        /// <summary>
        /// Creates a client with the default settings and no endpoint.
        /// </summary>
        /// <exception cref="LcmInternalException">The native client could not be created.</exception>
        public LcmClient()
        {
            var err = Native.ErrorBuffer();
            // Returned as a SafeHandle by the marshaller itself, so that no exception
            // can come between the native allocation and its owner.
            handle = Native.Call(() => Native.lcm_client_new(err, (UIntPtr)err.Length));
            if (handle.IsInvalid)
            {
                handle.Dispose();
                throw new LcmInternalException(Native.ErrorText(err));
            }
        }

        /// <summary>
        /// Sets option <paramref name="key"/> of this client to <paramref name="value"/>;
        /// an empty value restores the default. The options and their defaults are those
        /// of <see cref="Lcm.Configure"/>. Safe while other threads send with this client:
        /// a call already running keeps the settings it started with.
        /// </summary>
        /// <exception cref="LcmConfigException">Unknown key or bad value; the setting is unchanged.</exception>
        /// <exception cref="LcmInvalidArgumentException">A null key or value, or one holding a NUL character or a lone surrogate.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void Configure(string key, string value)
        {
            Native.CheckOption(key, value);
            var err = Native.ErrorBuffer();
            var status = WithHandle(c => Native.lcm_client_configure(c, key, value, err, (UIntPtr)err.Length));
            Native.ThrowUnlessOk(status, err, Hints.ForClient);
        }

        /// <summary>
        /// Records an outcome with this client: as <see cref="Lcm.SetOutcome"/>, with this
        /// client's configuration and connections: delivered when LCM answered
        /// <c>success: true</c> for <paramref name="callId"/>, queued when it is stored in
        /// this client's <c>outbox</c> for later delivery.
        /// </summary>
        /// <param name="callId">The dialer's call id (<c>callid</c>); mandatory, non-empty.</param>
        /// <param name="accountNumber">The contact's LCM key (<c>AccountNumber</c>); mandatory.</param>
        /// <param name="outcomeId">The telephony outcome (<c>OutcomeId</c>); mandatory. A canonical decimal integer such as <c>"1"</c> goes on the wire as a JSON number, other text as a JSON string.</param>
        /// <param name="leadScore"><c>LeadScore</c>; finite.</param>
        /// <param name="userId">The agent's id (<c>UserID</c>); mandatory.</param>
        /// <param name="agentComments"><c>AgentComments</c>; may be empty, not null.</param>
        /// <param name="targetAmount"><c>TargetAmount</c>; finite.</param>
        /// <exception cref="LcmException">The subclass of the status, as for <see cref="Lcm.SetOutcome"/>
        /// (<see cref="LcmInvalidArgumentException"/> from inside a log handler too).</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public LcmResult SetOutcome(string callId, string accountNumber, string outcomeId,
                                    double leadScore, string userId, string agentComments,
                                    double targetAmount)
        {
            LogDispatch.RefuseInsideHandler();
            Native.CheckOutcomeTexts(callId, accountNumber, outcomeId, userId, agentComments);
            var err = Native.ErrorBuffer();
            var status = WithHandle(c => Native.lcm_client_set_outcome(
                c, callId, accountNumber, outcomeId, leadScore, userId, agentComments,
                targetAmount, err, (UIntPtr)err.Length));
            return Native.OutcomeResult(status, err, Hints.ForClient);
        }

        /// <summary>
        /// Delivers this client's outbox now (<c>lcm_client_outbox_flush</c>): as
        /// <see cref="Lcm.Flush"/>, with this client's outbox and settings.
        /// </summary>
        /// <param name="timeoutMs">How long to try, 0 or more milliseconds; default 10000.</param>
        /// <exception cref="LcmException">As for <see cref="Lcm.Flush"/>.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public LcmFlushResult Flush(int timeoutMs = 10000)
        {
            var err = Native.ErrorBuffer();
            UIntPtr delivered = UIntPtr.Zero, pending = UIntPtr.Zero, dead = UIntPtr.Zero;
            var status = WithHandle(c => Native.lcm_client_outbox_flush(
                c, timeoutMs, out delivered, out pending, out dead, err, (UIntPtr)err.Length));
            return Native.FlushResult(status, err, delivered, pending, dead, Hints.ForClient);
        }

        /// <summary>
        /// Counts this client's outbox without sending anything
        /// (<c>lcm_client_outbox_count</c>).
        /// </summary>
        /// <exception cref="LcmConfigException">No <c>outbox</c>, or its file cannot be read.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public LcmOutboxCount OutboxCount()
        {
            var err = Native.ErrorBuffer();
            UIntPtr pending = UIntPtr.Zero, dead = UIntPtr.Zero;
            var status = WithHandle(c => Native.lcm_client_outbox_count(
                c, out pending, out dead, err, (UIntPtr)err.Length));
            return Native.CountResult(status, err, pending, dead, Hints.ForClient);
        }

        /// <summary>
        /// Releases the client and closes its connections, once the calls running on it
        /// have returned; later calls throw <see cref="ObjectDisposedException"/>.
        /// Disposing twice is harmless.
        /// </summary>
        public void Dispose()
        {
            Volatile.Write(ref disposed, 1);
            handle.Dispose();
        }

        // Whether lcm_client_free has run (or is running): for the tests, which check
        // that a Dispose during calls defers it until the last one returns.
        internal bool NativeClientReleased
        {
            get { return handle.IsClosed; }
        }

        // Runs a native call on the client pointer, which stays valid throughout.
        //
        // The C API forbids lcm_client_free while a call runs on the client. SafeHandle
        // counts references: every call holds one from DangerousAddRef to
        // DangerousRelease, and Dispose only drops the handle's own reference, so the
        // last call to finish is the one that runs ReleaseHandle (lcm_client_free).
        // Once the count is zero the handle is closed and DangerousAddRef throws, so no
        // call can start on a freed pointer. (Passing the SafeHandle to the P/Invoke
        // would count the same way; doing it here gives one clear
        // ObjectDisposedException on every runtime.)
        //
        // The flag is needed besides: while calls are still in flight after Dispose,
        // the SafeHandle is disposed but not yet closed, and both Mono and .NET let
        // DangerousAddRef succeed then. That is safe, but a call made after Dispose
        // returned must fail, not quietly run.
        private int WithHandle(Func<IntPtr, int> call)
        {
            if (Volatile.Read(ref disposed) != 0)
                throw new ObjectDisposedException(typeof(LcmClient).FullName);
            bool added = false;
            try
            {
                try
                {
                    handle.DangerousAddRef(ref added);
                }
                catch (ObjectDisposedException)
                {
                    throw new ObjectDisposedException(typeof(LcmClient).FullName);
                }
                return Native.Call(() => call(handle.DangerousGetHandle()));
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
    }

    /// <summary>Owns an <c>lcm_client *</c>; its release is <c>lcm_client_free</c>.</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        // The marshaller creates instances for lcm_client_new's return value.
        private ClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            Native.lcm_client_free(handle);
            return true;
        }
    }

    /// <summary>Delivers the library's log lines to the handler of <see cref="Lcm.SetLogHandler"/>.</summary>
    internal static class LogDispatch
    {
        // One delegate serves every handler, held by a static field for the life of the
        // process: the library may keep its function pointer, or still run it on another
        // thread, at any moment, and the pointer of a collected delegate jumps into
        // freed code.
        private static readonly Native.LogCallback Callback = OnLine;

        private static Action<int, string> handler;

        // How deep this thread is inside the handler: SetOutcome is refused there.
        [ThreadStatic]
        private static int depth;

        internal static void Set(Action<int, string> newHandler)
        {
            Volatile.Write(ref handler, newHandler);
            // Concurrent calls may reach the library in another order than they set
            // the field: whoever sees it changed during its call installs again, so the
            // library ends up matching the last handler set.
            while (true)
            {
                var wanted = Volatile.Read(ref handler);
                Native.Call(() => Native.lcm_set_log_callback(wanted != null ? Callback : null, IntPtr.Zero));
                if (ReferenceEquals(Volatile.Read(ref handler), wanted)) return;
            }
        }

        // Throws what the library answers to lcm_set_outcome inside its log callback.
        // The library refuses it itself; this covers a native library built before it
        // did, which would run the handler again for each line of the inner call, and
        // that call would send, until the stack overflowed and ended the process.
        internal static void RefuseInsideHandler()
        {
            if (depth > 0)
                throw new LcmInvalidArgumentException(
                    "SetOutcome was called from inside a log handler; a handler may configure " +
                    "and replace handlers, but not send (its own log lines would come back to it)");
        }

        // Called by native code: no exception may leave it (on .NET it would end the
        // process; on Mono, unwind through frames that cannot take it).
        private static void OnLine(int level, IntPtr message, IntPtr user)
        {
            try
            {
                string text = Native.DecodeCString(message);
                var current = Volatile.Read(ref handler);
                if (current == null)
                {
                    // Being restored to stderr: the library's own line, so none is lost.
                    Console.Error.Write("lcm-outcome [" + LevelName(level) + "] " + text + "\n");
                    return;
                }
                depth++;
                try
                {
                    current(level, text);
                }
                finally
                {
                    depth--;
                }
            }
            catch (Exception)
            {
                // The handler's failure is not the call's: swallowed.
            }
        }

        private static string LevelName(int level)
        {
            switch (level)
            {
                case Lcm.LogError: return "error";
                case Lcm.LogWarn: return "warn";
                case Lcm.LogInfo: return "info";
                case Lcm.LogDebug: return "debug";
                default: return "trace";
            }
        }
    }

    /// <summary>The C functions, and the conversions around them.</summary>
    internal static class Native
    {
        private const string Library = "lcm_outcome";

        /// <summary><c>LCM_ERROR_SIZE</c>: never truncates a message of the library.</summary>
        internal const int ErrorSize = 512;

        // Strings go in as LPUTF8Str: NUL-terminated UTF-8, as the C API wants; Mono 6.8
        // and .NET Core 3+ marshal it so (checked with non-ASCII and emoji text by the
        // tests). size_t is UIntPtr, pointer-sized on every platform.

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lcm_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lcm_status_name(int status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_configure(
            [MarshalAs(UnmanagedType.LPUTF8Str)] string key,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string value,
            byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_set_outcome(
            [MarshalAs(UnmanagedType.LPUTF8Str)] string callId,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string accountNumber,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string outcomeId,
            double leadScore,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string userId,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string agentComments,
            double targetAmount,
            byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ClientHandle lcm_client_new(byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_client_configure(
            IntPtr client,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string key,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string value,
            byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_client_set_outcome(
            IntPtr client,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string callId,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string accountNumber,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string outcomeId,
            double leadScore,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string userId,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string agentComments,
            double targetAmount,
            byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lcm_client_free(IntPtr client);

        // The size_t * out-parameters of the outbox functions: out UIntPtr.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_outbox_flush(
            int timeoutMs, out UIntPtr delivered, out UIntPtr pending, out UIntPtr dead,
            byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_client_outbox_flush(
            IntPtr client, int timeoutMs, out UIntPtr delivered, out UIntPtr pending,
            out UIntPtr dead, byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_outbox_count(
            out UIntPtr pending, out UIntPtr dead, byte[] err, UIntPtr errLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lcm_client_outbox_count(
            IntPtr client, out UIntPtr pending, out UIntPtr dead, byte[] err, UIntPtr errLen);

        /// <summary><c>lcm_log_callback</c>: the message is UTF-8, valid during the call only.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogCallback(int level, IntPtr message, IntPtr user);

        // A null delegate is passed as NULL. The caller keeps the delegate alive while
        // it is installed.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lcm_set_log_callback(LogCallback callback, IntPtr user);

        internal static byte[] ErrorBuffer()
        {
            return new byte[ErrorSize];
        }

        /// <summary>The buffer's text up to its first NUL, decoded as UTF-8.</summary>
        internal static string ErrorText(byte[] err)
        {
            int end = Array.IndexOf(err, (byte)0);
            return Encoding.UTF8.GetString(err, 0, end < 0 ? err.Length : end);
        }

        /// <summary>A NUL-terminated UTF-8 string of the library, decoded; never freed here.</summary>
        internal static string DecodeCString(IntPtr text)
        {
            if (text == IntPtr.Zero) return "";
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0) length++;
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>
        /// Runs a call into the native library, turning the runtime's exceptions for a
        /// missing library (<see cref="DllNotFoundException"/>, which names nothing but
        /// "lcm_outcome") and for a library without the function, one older than this
        /// file (<see cref="EntryPointNotFoundException"/>), into an
        /// <see cref="LcmLibraryNotFoundException"/> that says where the runtime looks.
        /// </summary>
        internal static T Call<T>(Func<T> call)
        {
            try
            {
                return call();
            }
            catch (DllNotFoundException e) when (!(e is LcmLibraryNotFoundException))
            {
                throw LcmLibraryNotFoundException.NotFound(e);
            }
            catch (EntryPointNotFoundException e)
            {
                throw LcmLibraryNotFoundException.TooOld(e);
            }
        }

        internal static void Call(Action call)
        {
            Call(() =>
            {
                call();
                return 0;
            });
        }

        // hinter: the hint of the client that called (Hints.ForClient, ForDefaultClient).
        internal static void ThrowUnlessOk(int status, byte[] err, Func<string, string> hinter)
        {
            if (status != (int)LcmStatus.Ok)
                throw LcmException.For((LcmStatus)status, ErrorText(err), hinter);
        }

        /// <summary>SetOutcome's result: delivered, queued, or the status's exception.</summary>
        internal static LcmResult OutcomeResult(int status, byte[] err, Func<string, string> hinter)
        {
            if (status == (int)LcmStatus.Queued) return LcmResult.QueuedWith(ErrorText(err));
            ThrowUnlessOk(status, err, hinter);
            return LcmResult.Delivered;
        }

        /// <summary>
        /// Flush's result, or the status's exception carrying the counts when the library
        /// wrote them: after a delivery was tried, not for a bad argument, a missing
        /// outbox or a bug, where nothing was tried.
        /// </summary>
        internal static LcmFlushResult FlushResult(int status, byte[] err, UIntPtr delivered,
                                                   UIntPtr pending, UIntPtr dead,
                                                   Func<string, string> hinter)
        {
            var result = new LcmFlushResult(Count(delivered), Count(pending), Count(dead));
            if (status == (int)LcmStatus.Ok) return result;
            var e = LcmException.For((LcmStatus)status, ErrorText(err), hinter);
            var nothingTried = status == (int)LcmStatus.InvalidArgument
                || status == (int)LcmStatus.Config || status == (int)LcmStatus.Internal;
            if (!nothingTried) e.FlushResult = result;
            throw e;
        }

        internal static LcmOutboxCount CountResult(int status, byte[] err, UIntPtr pending, UIntPtr dead,
                                                   Func<string, string> hinter)
        {
            ThrowUnlessOk(status, err, hinter);
            return new LcmOutboxCount(Count(pending), Count(dead));
        }

        private static long Count(UIntPtr count)
        {
            return checked((long)count.ToUInt64());
        }

        // Three things a C# string may be or hold that the C side cannot receive
        // faithfully: null, which the library would name in C terms ("agent_comments is
        // NULL"); U+0000, which C reads as the end ("12\05" would be sent as "12"); and a
        // lone UTF-16 surrogate, which the UTF-8 marshaller silently turns into U+FFFD.
        // All are refused here, named as the C# parameter, before anything is sent.
        internal static void CheckText(string field, string text, string ifNull = null)
        {
            if (text == null)
                throw new LcmInvalidArgumentException(field + " is null" + (ifNull ?? ""));
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '\0')
                    throw new LcmInvalidArgumentException(
                        field + " contains a NUL character at index " + i);
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                if (char.IsSurrogate(c))
                    throw new LcmInvalidArgumentException(
                        field + " is not valid Unicode (a lone surrogate at index " + i + ")");
            }
        }

        internal static void CheckOutcomeTexts(string callId, string accountNumber,
                                               string outcomeId, string userId,
                                               string agentComments)
        {
            CheckText("callId", callId);
            CheckText("accountNumber", accountNumber);
            CheckText("outcomeId", outcomeId);
            CheckText("userId", userId);
            CheckText("agentComments", agentComments, "; pass \"\" for no comments");
        }

        internal static void CheckOption(string key, string value)
        {
            CheckText("key", key);
            CheckText("value", value, "; pass \"\" to restore the option's default");
        }
    }
}
