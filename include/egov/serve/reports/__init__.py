"""What operators and analysts read: SVG charts, the HTML report, Biểu 06 exports."""
