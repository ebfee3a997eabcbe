import CairnCore
import CairnProtocol
import Testing

@testable import CairnServer

/// The connection's ordering rules, driven by hand: no sockets, no store.
@Suite("ConnectionStateMachine: request order, pipelining, backpressure, drain and close")
struct ConnectionStateMachineTests {
    static let path = try! ZNodePath("/n")
    static let create = ClientRequest.change(.create(path: "/n", data: [], kind: .persistent, sequential: false))
    static let get = ClientRequest.get(path, watch: false)

    /// What a front end would do: every action the machine returns until it has none, summarized.
    struct Driver {
        var machine: ConnectionStateMachine
        var executed: [(slot: ConnectionStateMachine.Slot, request: ClientRequest)] = []
        var written: [Int64?] = []
        var closes: [String] = []
        var resumed = 0

        init(maxInFlight: Int = 100) { machine = ConnectionStateMachine(maxInFlight: maxInFlight) }

        mutating func run() {
            while let action = machine.nextAction() {
                switch action {
                case .execute(let slot, let request): executed.append((slot, request))
                case .write(let id, _): written.append(id)
                case .resumeReading: resumed += 1
                case .close: closes.append("close")
                case .closeAfterReplies: closes.append("after replies")
                }
            }
        }

        mutating func receive(_ id: Int64, _ request: ClientRequest) {
            if let slot = machine.startNow(id: id, isChange: request.isChange) {
                executed.append((slot, request))
            } else {
                machine.received(.init(id: id, .success(request)))
            }
            run()
        }

        mutating func answer(_ slot: ConnectionStateMachine.Slot, then: Answer.Then = .carryOn) {
            if case .now(let id) = machine.answered(slot, Answer(.ok(zxid: 1, .done), then: then)) {
                written.append(id)
            }
            run()
        }
    }

    @Test("changes are pipelined, and their replies go out in request order whatever order they complete in")
    func pipelinedChanges() {
        var d = Driver()
        for id in 1...3 { d.receive(Int64(id), Self.create) }
        #expect(d.executed.map(\.slot) == [0, 1, 2], "all three changes run at once")
        d.answer(2)
        d.answer(1)
        #expect(d.written.isEmpty, "no reply overtakes the first")
        d.answer(0)
        #expect(d.written == [1, 2, 3])
    }

    @Test("a read waits for every change sent before it, and a change after the read waits for the read")
    func readAfterChanges() {
        var d = Driver()
        d.receive(1, Self.create)
        d.receive(2, Self.create)
        d.receive(3, Self.get)
        d.receive(4, Self.create)
        #expect(d.executed.count == 2, "the read runs only once the changes before it are answered")
        d.answer(0)
        #expect(d.executed.count == 2)
        d.answer(1)
        #expect(d.executed.map(\.request) == [Self.create, Self.create, Self.get])
        d.answer(2)
        #expect(d.executed.count == 4 && d.written == [1, 2, 3])
        d.answer(3)
        #expect(d.written == [1, 2, 3, 4])
    }

    @Test("an error (an undecodable line) is answered in its turn, after the changes before it")
    func errorsWaitTheirTurn() {
        var d = Driver()
        d.receive(1, Self.create)
        d.machine.received(.init(id: 2, .failure(.malformed("not JSON"))))
        d.run()
        #expect(d.written.isEmpty)
        d.answer(0)
        #expect(d.written == [1, 2])
    }

    @Test("a request answered later (connect) holds back everything behind it, changes too")
    func laterAnswersBlock() {
        var d = Driver()
        d.receive(1, .connect(timeoutMilliseconds: 5000, resume: nil))
        d.receive(2, Self.create)
        d.receive(3, Self.get)
        #expect(d.executed.count == 1)
        d.answer(0)
        #expect(d.executed.count == 2 && d.written == [1])
    }

    @Test("with the bound of requests in flight reached, reading stops until half are answered")
    func backpressure() {
        var d = Driver(maxInFlight: 4)
        for id in 1...4 { d.receive(Int64(id), Self.create) }
        let readWhenFull = d.machine.readWanted()
        #expect(!readWhenFull, "four in flight: the socket is not read")
        d.answer(0)
        #expect(d.resumed == 0, "three in flight: still above half")
        d.answer(1)
        #expect(d.resumed == 1, "two in flight: reading resumes")
        let readAfterHalf = d.machine.readWanted()
        #expect(readAfterHalf)
    }

    @Test("a close after a reply stops the connection: nothing queued behind it runs")
    func closeAfterSessionClose() {
        var d = Driver()
        d.receive(1, .close)
        d.receive(2, Self.create)
        d.answer(0, then: .close)
        #expect(d.written == [1] && d.closes == ["close"] && d.executed.count == 1)
        d.receive(3, Self.get)
        #expect(d.executed.count == 1, "a closed connection runs nothing")
    }

    @Test("an oversized line is answered, then the connection half-closes, once earlier replies are out")
    func oversizedLine() {
        var d = Driver()
        d.receive(1, Self.create)
        d.machine.received(.init(id: nil, .failure(.tooLarge("long")), closesConnection: true))
        d.machine.received(.init(id: 3, .success(Self.get)))
        d.run()
        d.answer(0)
        #expect(d.written == [1, nil] && d.closes == ["after replies"] && d.executed.count == 1)
    }

    @Test("draining: what arrives is dropped; once what was read is answered, the connection half-closes")
    func drain() {
        var d = Driver()
        d.receive(1, Self.create)
        d.machine.drain()
        d.receive(2, Self.create)
        #expect(d.executed.count == 1 && d.closes.isEmpty)
        d.answer(0)
        #expect(d.written == [1] && d.closes == ["after replies"])
        let readWhenClosed = d.machine.readWanted()
        #expect(readWhenClosed, "a half-closed connection is read, to discard what comes")
    }

    @Test("an idle connection that is drained half-closes at once")
    func drainIdle() {
        var d = Driver()
        d.machine.drain()
        d.run()
        #expect(d.closes == ["after replies"])
    }
}
