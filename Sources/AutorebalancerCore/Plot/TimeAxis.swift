import Foundation

/// Wall-clock ticks (UTC) for a chart's time axis: a step from a fixed ladder (seconds to weeks) that gives at most
/// `maxTicks` ticks, ticks on whole multiples of the step (whole minutes, hours, days at midnight UTC), and labels
/// that show the date only where it changes.
public struct TimeAxis: Sendable, Hashable {
    public struct Tick: Sendable, Hashable {
        public var time: Date
        /// `10:30`, `10:30:15` or `Nov 20`.
        public var label: String
        /// The date (`Nov 20`, `2026-11-20` on the first tick) under the time, where the day changes; `nil` elsewhere.
        public var dateLabel: String?
    }

    public var ticks: [Tick]
    /// The step between ticks, in seconds.
    public var step: TimeInterval

    /// Steps a tick may be apart, in seconds.
    static let ladder: [TimeInterval] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
        86400, 172_800, 604_800, 1_209_600, 2_419_200,
    ]

    public init(from start: Date, to end: Date, maxTicks: Int) {
        let span = max(end.timeIntervalSince(start), 1)
        let limit = Double(max(maxTicks, 2))
        let step = Self.ladder.first { span / $0 <= limit } ?? (span / limit).rounded(.up)
        self.step = step
        let first = (start.timeIntervalSince1970 / step).rounded(.up) * step
        var ticks: [Tick] = []
        var previousDay: DateComponents?
        var t = first
        // Bounded: at most `limit` + 1 ticks by the choice of step.
        while t <= end.timeIntervalSince1970, ticks.count <= Int(limit) {
            let date = Date(timeIntervalSince1970: t)
            let parts = Self.calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let day = DateComponents(year: parts.year, month: parts.month, day: parts.day)
            let label: String
            var dateLabel: String?
            if step >= 86400 {
                label = Self.monthDay(parts)
                if previousDay?.year != parts.year { dateLabel = String(parts.year ?? 0) }
            } else {
                label =
                    step < 60
                    ? Self.twoDigits(parts.hour, parts.minute, parts.second)
                    : Self.twoDigits(parts.hour, parts.minute)
                if previousDay == nil {
                    dateLabel = Self.isoDay(parts)
                } else if previousDay != day {
                    dateLabel = Self.monthDay(parts)
                }
            }
            previousDay = day
            ticks.append(Tick(time: date, label: label, dateLabel: dateLabel))
            t += step
        }
        self.ticks = ticks
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func monthDay(_ parts: DateComponents) -> String {
        "\(months[((parts.month ?? 1) - 1) % 12]) \(parts.day ?? 1)"
    }

    static func isoDay(_ parts: DateComponents) -> String {
        String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    static func twoDigits(_ values: Int?...) -> String {
        values.map { String(format: "%02d", $0 ?? 0) }.joined(separator: ":")
    }
}
