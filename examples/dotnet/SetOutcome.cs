// Records one telephony outcome in LCM through LcmOutcome.cs and liblcm_outcome.
//
//   mcs -out:SetOutcome.exe examples/dotnet/SetOutcome.cs bindings/dotnet/LcmOutcome.cs
//   LD_LIBRARY_PATH=target/debug mono SetOutcome.exe http://127.0.0.1:8080/lcm
//   (or set LCM_ENDPOINT and omit the argument)
//
// With LCM_OUTBOX=/var/spool/dialer/outbox.db in the environment, an outcome that LCM
// does not confirm now (LCM down, a timeout, a 5xx) is stored in that file and
// delivered later by the library: SetOutcome returns a queued result.
//
// Exit status: 0 when LCM confirmed the outcome or the outbox holds it, 1 when neither.
using System;
using LcmOutcome;

static class SetOutcome
{
    static int Main(string[] args)
    {
        try
        {
            if (args.Length > 0) Lcm.Configure("endpoint", args[0]);
            var result = Lcm.SetOutcome("12345", "5|3|1|0|0|44|1", "1", 0, "testagent", "Test comment", 0);
            if (result.Queued) // no failure: the outcome is the library's to deliver now
                Console.WriteLine("LCM_QUEUED: call 12345 queued as entry " + result.EntryId + ", will be delivered later");
            else
                Console.WriteLine("LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome " + Lcm.Version + ")");
            return 0;
        }
        catch (LcmException e) // e.Status tells which failure; e.Message starts with its name
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }
}
