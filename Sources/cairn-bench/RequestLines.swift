/// Pre-encoded request lines: the generator writes bytes, not JSON objects, so the load generator costs
/// little next to the server it measures.
struct RequestLines: Sendable {
    let data: String

    init(dataSize: Int) { data = String(repeating: "x", count: dataSize) }

    static func connect(timeoutMilliseconds: Int) -> String { #"{"id":0,"op":"connect","timeout_ms":\#(timeoutMilliseconds)}"# + "\n" }
    func create(_ path: String, ephemeral: Bool = false, sequential: Bool = false) -> String {
        #"{"id":1,"op":"create","path":"\#(path)","data":"\#(data)""# + (ephemeral ? #","ephemeral":true"# : "")
            + (sequential ? #","sequential":true"# : "") + "}\n"
    }
    func set(_ path: String) -> String { #"{"id":1,"op":"set","path":"\#(path)","data":"\#(data)"}"# + "\n" }
    static func get(_ path: String) -> String { #"{"id":1,"op":"get","path":"\#(path)"}"# + "\n" }
    static func exists(_ path: String) -> String { #"{"id":1,"op":"exists","path":"\#(path)"}"# + "\n" }
    static func children(_ path: String) -> String { #"{"id":1,"op":"children","path":"\#(path)"}"# + "\n" }
    static func delete(_ path: String) -> String { #"{"id":1,"op":"delete","path":"\#(path)"}"# + "\n" }
    static func addWatch(_ path: String) -> String { #"{"id":1,"op":"add_watch","path":"\#(path)"}"# + "\n" }
}
